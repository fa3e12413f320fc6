import { createPublicClient, defineChain, http, parseEther } from 'viem'
import { createBundlerClient, toSimple7702SmartAccount } from 'viem/account-abstraction'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { delegationCode } from '../src/chain/eip7702.js'
import type { EntryPointVersion } from '../src/chain/entrypoint.js'
import { newOwner } from './harness/account.js'
import { conveyor, type Run } from './support/conveyor-process.js'

interface Ready {
  rpcUrl: string
  nodeUrl: string
  chainId: number
  entryPoints: Record<EntryPointVersion, `0x${string}`>
  simple7702Accounts: Partial<Record<EntryPointVersion, `0x${string}`>>
}

const CANONICAL = {
  'v0.8': '0xe6Cae83BdE06E4c305530e199D7217f42808555B',
  'v0.9': '0xa46cc63eBF4Bd77888AA327837d20b23A63a56B5',
} as const

describe("viem's toSimple7702SmartAccount against `conveyor dev` (1 s blocks), unchanged", () => {
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

  it('the ready line names the canonical Simple7702Account implementations', () => {
    expect(ready.simple7702Accounts).toEqual(CANONICAL)
  })

  it.each(['v0.8', 'v0.9'] as const)(
    '%s: estimates and sends the first op with its authorization, then a second op; both succeed',
    async (version) => {
      const chain = defineChain({
        id: ready.chainId,
        name: 'conveyor-dev',
        nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
        rpcUrls: { default: { http: [ready.nodeUrl] } },
      })
      const client = createPublicClient({ chain, transport: http(ready.nodeUrl) })
      const owner = newOwner()
      const account = await toSimple7702SmartAccount({
        client,
        owner,
        ...(version === 'v0.9' ? { entryPoint: '0.9' as const } : {}),
      })
      expect(account.entryPoint.address).toBe(ready.entryPoints[version])
      await client.request({
        method: 'anvil_setBalance' as never,
        params: [owner.address, '0x8ac7230489e80000'] as never,
      })
      const bundler = createBundlerClient({
        account,
        client,
        chain,
        transport: http(ready.rpcUrl),
        pollingInterval: 250,
      })
      const to = newOwner().address
      const calls = [{ to, value: parseEther('0.001') }]
      // viem estimates with a placeholder authorization; the signed one goes with the op.
      const authorization = await owner.signAuthorization({
        address: CANONICAL[version],
        chainId: ready.chainId,
        nonce: await client.getTransactionCount({ address: owner.address }),
      })
      const estimate = await bundler.estimateUserOperationGas({ calls, authorization })
      expect(estimate.verificationGasLimit).toBeGreaterThan(0n)
      expect(estimate.preVerificationGas).toBeGreaterThan(25_000n)

      const hash = await bundler.sendUserOperation({ calls, authorization })
      const receipt = await bundler.waitForUserOperationReceipt({ hash, timeout: 60_000 })
      expect(receipt.success).toBe(true)
      expect(receipt.sender.toLowerCase()).toBe(owner.address.toLowerCase())
      expect((await client.getCode({ address: owner.address }))?.toLowerCase()).toBe(
        delegationCode(CANONICAL[version]),
      )
      const tx = await client.getTransaction({ hash: receipt.receipt.transactionHash })
      expect(tx.type).toBe('eip7702')

      // Delegated now: viem sends no factory and no authorization.
      const second = await bundler.sendUserOperation({ calls })
      const receipt2 = await bundler.waitForUserOperationReceipt({ hash: second, timeout: 60_000 })
      expect(receipt2.success).toBe(true)
      expect(await client.getBalance({ address: to })).toBe(parseEther('0.002'))
    },
    90_000,
  )
})
