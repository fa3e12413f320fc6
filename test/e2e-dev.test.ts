import { createSmartAccountClient } from 'permissionless'
import { toSimpleSmartAccount } from 'permissionless/accounts'
import { createPublicClient, defineChain, http, parseEther } from 'viem'
import { createBundlerClient } from 'viem/account-abstraction'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ENTRY_POINT_VERSIONS, type EntryPointVersion } from '../src/chain/entrypoint.js'
import { newOwner } from './harness/account.js'
import { toSimpleAccount } from './harness/viem-account.js'
import { conveyor, type Run } from './support/conveyor-process.js'

interface Ready {
  rpcUrl: string
  nodeUrl: string
  chainId: number
  entryPoints: Record<EntryPointVersion, `0x${string}`>
  factories: Record<EntryPointVersion, `0x${string}`>
}

describe('viem and permissionless clients against `conveyor dev` (1 s blocks), every EntryPoint', () => {
  let run: Run
  let ready: Ready

  beforeAll(async () => {
    run = conveyor(['dev', '--rpc.port', '0', '--metrics.port', '0'])
    ready = (await run.ready(30_000)) as unknown as Ready
  }, 60_000)
  afterAll(async () => {
    run?.child.kill('SIGINT')
    await run?.exited(15_000).catch(() => run.child.kill('SIGKILL'))
  })

  const devChain = () =>
    defineChain({
      id: ready.chainId,
      name: 'conveyor-dev',
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [ready.nodeUrl] } },
    })

  it.each(ENTRY_POINT_VERSIONS)(
    '%s: estimates, sends, and waits for the receipt of a SimpleAccount op',
    async (version) => {
      const chain = devChain()
      const client = createPublicClient({ chain, transport: http(ready.nodeUrl) })
      const owner = newOwner()
      const account = await toSimpleAccount({
        client,
        version,
        entryPoint: ready.entryPoints[version],
        factory: ready.factories[version],
        owner,
      })
      const sender = await account.getAddress()
      await client.request({
        method: 'anvil_setBalance' as never,
        params: [sender, '0x8ac7230489e80000'] as never,
      })

      const bundler = createBundlerClient({
        account,
        client,
        chain,
        transport: http(ready.rpcUrl),
        pollingInterval: 250,
      })
      const calls = [{ to: owner.address, value: parseEther('0.001') }]
      const estimate = await bundler.estimateUserOperationGas({ calls })
      expect(estimate.verificationGasLimit).toBeGreaterThan(0n)
      expect(estimate.callGasLimit).toBeGreaterThan(0n)
      expect(estimate.preVerificationGas).toBeGreaterThan(21_000n)

      const hash = await bundler.sendUserOperation({ calls })
      const receipt = await bundler.waitForUserOperationReceipt({ hash, timeout: 60_000 })
      expect(receipt.success).toBe(true)
      expect(receipt.sender.toLowerCase()).toBe(sender.toLowerCase())
      expect(await client.getBalance({ address: owner.address })).toBe(parseEther('0.001'))

      const byHash = await bundler.getUserOperation({ hash })
      expect(byHash.transactionHash).toBe(receipt.receipt.transactionHash)
    },
    90_000,
  )

  // permissionless's SimpleAccount (its own account code, not the test harness's) as a dapp would
  // use it: v0.6, v0.7 and v0.8 (permissionless has no v0.9 SimpleAccount).
  it.each(['v0.6', 'v0.7', 'v0.8'] as const)(
    "%s: permissionless's SimpleAccount and smart account client: first op deploys and pays, second op lands",
    async (version) => {
      const chain = devChain()
      const client = createPublicClient({ chain, transport: http(ready.nodeUrl) })
      const owner = newOwner()
      const account = await toSimpleSmartAccount({
        client,
        owner,
        entryPoint: {
          address: ready.entryPoints[version],
          version: version.slice(1) as '0.6' | '0.7' | '0.8',
        },
        factoryAddress: ready.factories[version],
      })
      await client.request({
        method: 'anvil_setBalance' as never,
        params: [account.address, '0x8ac7230489e80000'] as never,
      })
      const smart = createSmartAccountClient({
        account,
        chain,
        client,
        bundlerTransport: http(ready.rpcUrl),
        pollingInterval: 250,
      })
      for (const n of [1n, 2n]) {
        const hash = await smart.sendUserOperation({
          calls: [{ to: owner.address, value: parseEther('0.001') }],
        })
        const receipt = await smart.waitForUserOperationReceipt({ hash, timeout: 60_000 })
        expect(receipt.success).toBe(true)
        expect(receipt.sender.toLowerCase()).toBe(account.address.toLowerCase())
        expect(await client.getBalance({ address: owner.address })).toBe(n * parseEther('0.001'))
      }
      expect(await client.getCode({ address: account.address })).not.toBeUndefined()
    },
    90_000,
  )
})
