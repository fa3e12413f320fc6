/**
 * A bundler killed (SIGKILL) while its bundle is pending, and a new process with the same key.
 * The chain mines only on evm_mine from the test, so the bundle is pending for as long as we say.
 */
import { type Address, type Hash, type Hex, numberToHex } from 'viem'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildOp, currentFees, newOwner } from './harness/account.js'
import { startTestChain, type TestChain } from './harness/chain.js'
import {
  type BuiltOp,
  buildFreshOps,
  JsonRpcError,
  jsonRpc,
  minedTxsFrom,
  opHashesInBundle,
  pendingTxsFrom,
  sendOps,
  sendUserOperation,
  stopConveyor,
  userOpEvents,
} from './support/bundler-load.js'
import { conveyor, type Run } from './support/conveyor-process.js'
import { waitFor } from './support/wait.js'

const VERSION = 'v0.7' as const
const MAX_MINED_BLOCKS = 60
/** What becomes of the pending bundle while no bundler runs. */
const SCENARIOS = ['still pending', 'mined while down', 'dropped while down'] as const

describe('builder restart while a bundle is pending (anvil, mining on demand)', () => {
  let chain: TestChain
  const runs: Run[] = []

  beforeAll(async () => {
    chain = await startTestChain({ noMining: true })
  }, 60_000)

  afterAll(async () => {
    for (const run of runs) {
      run.child.kill('SIGKILL')
      await run.exited(5_000).catch(() => undefined)
    }
    await chain?.stop()
  })

  async function startNode(key: Hex, mode: 'auto' | 'manual'): Promise<{ run: Run; rpcUrl: string }> {
    const run = conveyor([
      'node',
      '--node_http',
      chain.url,
      '--signer.private_keys',
      key,
      '--num_signers',
      '1',
      '--rpc.port',
      '0',
      '--metrics.port',
      '0',
      '--rpc.enable_debug_methods',
      '--entry_points',
      VERSION,
      // One factory deploys every account here: keep its unstaked allowance out of the way.
      '--pool.allowlist',
      chain.deployment.factories[VERSION],
      '--bundling_mode',
      mode,
      '--log.level',
      'warn',
    ])
    runs.push(run)
    const ready = await run.ready(30_000)
    return { run, rpcUrl: ready.rpcUrl as string }
  }

  const mine = () => chain.client.request({ method: 'evm_mine' as never, params: [] as never })

  async function fundedKey(): Promise<{ key: Hex; signer: Address }> {
    const key: Hex = generatePrivateKey()
    const signer: Address = privateKeyToAddress(key)
    await chain.client.request({
      method: 'anvil_setBalance' as never,
      params: [signer, numberToHex(10n ** 21n)] as never,
    })
    return { key, signer }
  }

  /**
   * A first process bundles three ops in one bundle (manual mode until all three are pooled), the
   * bundle waits in the node's mempool, and the process is killed with no chance to clean up.
   */
  async function pendAndKill(key: Hex, signer: Address, nonce: number) {
    const entryPoint = chain.deployment.entryPoints[VERSION]
    const first = await startNode(key, 'manual')
    const batch = await buildFreshOps(chain, VERSION, 3)
    await sendOps(first.rpcUrl, entryPoint, batch)
    await jsonRpc(first.rpcUrl, 'debug_bundler_setBundlingMode', ['auto'])
    const hashes = batch.map((b) => b.hash.toLowerCase() as Hash)
    let pending: { hash: Hash; input: Hex } | undefined
    await waitFor(async () => {
      pending = (await pendingTxsFrom(chain.url, signer)).get(nonce)
      if (!pending) return false
      const inBundle = opHashesInBundle(pending.input, entryPoint, chain.chainId, VERSION)
      return hashes.every((h) => inBundle.includes(h))
    }, 'the first bundle, carrying all three ops, to be pending in the node')
    first.run.child.kill('SIGKILL')
    expect((await first.run.exited(10_000)).signal).toBe('SIGKILL')
    expect((await pendingTxsFrom(chain.url, signer)).get(nonce)?.hash).toBe(pending!.hash)
    return {
      batch,
      hashes,
      pending: pending!,
      pendingOps: opHashesInBundle(pending!.input, entryPoint, chain.chainId, VERSION),
    }
  }

  it.each(SCENARIOS)(
    '%s: each op of the pending bundle mined once, no nonce reused, bundling goes on',
    async (scenario) => {
      const { key, signer } = await fundedKey()
      const entryPoint = chain.deployment.entryPoints[VERSION]
      const startBlock = await chain.client.getBlockNumber()
      const startNonce = await chain.client.getTransactionCount({ address: signer })

      // 1–2. A bundle of three ops pending in the node, its bundler killed.
      const {
        batch: batchA,
        hashes: aHashes,
        pending,
        pendingOps,
      } = await pendAndKill(key, signer, startNonce)
      if (scenario === 'mined while down') {
        await mine()
        expect((await chain.client.getTransactionReceipt({ hash: pending.hash })).status).toBe('success')
      } else if (scenario === 'dropped while down') {
        // As when the node restarts and forgets its mempool.
        await chain.client.request({
          method: 'anvil_dropTransaction' as never,
          params: [pending.hash] as never,
        })
        expect((await pendingTxsFrom(chain.url, signer)).size).toBe(0)
      }

      // 3. A new process with the same key. Clients that saw no receipt send their ops again; new
      // users send new ops.
      const second = await startNode(key, 'auto')
      for (const b of batchA) {
        await sendUserOperation(second.rpcUrl, b.op, entryPoint).catch((err) => {
          // Either answer is fine (admitted again, or refused): what matters is what the chain says.
          if (!(err instanceof JsonRpcError)) throw err
        })
      }
      const batchB = await buildFreshOps(chain, VERSION, 3)
      await sendOps(second.rpcUrl, entryPoint, batchB)
      const bHashes = batchB.map((b) => b.hash.toLowerCase() as Hash)

      // 4. Mine until every op has an event (a hang guard, not a speed assertion).
      const all = [...new Set([...pendingOps, ...aHashes, ...bHashes])]
      let events = new Map<Hash, { txHash: Hash; blockNumber: bigint; success: boolean }[]>()
      for (let i = 0; i < MAX_MINED_BLOCKS; i++) {
        await mine()
        const head = await chain.client.getBlockNumber()
        events = await userOpEvents(chain.client, entryPoint, startBlock + 1n, head)
        if (all.every((h) => events.has(h))) break
        await new Promise((r) => setTimeout(r, 300))
      }
      // A few more blocks: a duplicate inclusion would show up now if the new process resent anything.
      for (let i = 0; i < 3; i++) {
        await mine()
        await new Promise((r) => setTimeout(r, 300))
      }
      const head = await chain.client.getBlockNumber()
      events = await userOpEvents(chain.client, entryPoint, startBlock + 1n, head)

      // Every op of the pending bundle, and every new op, has exactly one UserOperationEvent.
      const counts = Object.fromEntries(all.map((h) => [h, events.get(h)?.length ?? 0]))
      expect(counts).toEqual(Object.fromEntries(all.map((h) => [h, 1])))
      for (const h of all) expect(events.get(h)?.[0]?.success).toBe(true)

      // No two signer transactions share a nonce, the nonces have no gap, and none reverted.
      const txs = await minedTxsFrom(chain.client, [signer], startBlock + 1n, head)
      const nonces = txs.map((t) => t.nonce)
      expect(new Set(nonces).size).toBe(nonces.length)
      expect(nonces).toEqual(nonces.map((_, i) => startNonce + i))
      for (const t of txs) {
        const receipt = await chain.client.getTransactionReceipt({ hash: t.hash })
        expect(receipt.status, `signer tx ${t.hash} at nonce ${t.nonce}`).toBe('success')
      }

      // The ops of the pending bundle went in at its nonce, in that very transaction, unless the node
      // forgot it: then in bundles of the new process (the clients sent them again). New ops went in
      // later bundles of the same key.
      const pendingNonceTx = txs.find((t) => t.nonce === startNonce)
      const signerTxHashes = new Set(txs.map((t) => t.hash))
      for (const h of pendingOps) {
        const minedIn = events.get(h)?.[0]?.txHash
        if (scenario === 'dropped while down') expect(signerTxHashes.has(minedIn!)).toBe(true)
        else expect(minedIn).toBe(pending.hash)
      }
      if (scenario !== 'dropped while down') expect(pendingNonceTx?.hash).toBe(pending.hash)
      const bundlesOfB = new Set(bHashes.map((h) => events.get(h)?.[0]?.txHash))
      for (const txHash of bundlesOfB) {
        const tx = txs.find((t) => t.hash === txHash)
        expect(tx, `bundle ${txHash} of a new op is from the signer`).toBeDefined()
        // When the node forgot the pending bundle, the new process's first bundle reuses its nonce
        // and may carry new ops beside the re-sent ones.
        if (scenario === 'dropped while down') expect(tx!.nonce).toBeGreaterThanOrEqual(startNonce)
        else expect(tx!.nonce).toBeGreaterThan(startNonce)
      }

      // The new process is still alive and bundling: one more op goes through.
      const late = (await buildFreshOps(chain, VERSION, 1))[0] as BuiltOp
      await sendOps(second.rpcUrl, entryPoint, [late])
      await waitFor(
        async () => {
          await mine()
          const r = await jsonRpc<{ success: boolean } | null>(second.rpcUrl, 'eth_getUserOperationReceipt', [
            late.hash,
          ])
          return r?.success === true
        },
        'a later op to be mined by the restarted process',
        { intervalMs: 300 },
      )
      expect(second.run.child.exitCode).toBeNull()
      await stopConveyor(second.run)
    },
    180_000,
  )
  /**
   * The pending bundle cannot be mined (blocks are made smaller than its gas limit, as a base fee
   * above its maxFeePerGas would on geth, which keeps such a transaction pooled), so the new process,
   * having taken it over, replaces it after max_blocks_to_wait_for_mine with what its own pool holds.
   */
  describe('a stuck pending bundle replaced by the new process', () => {
    const stuck: {
      pendingOps: Hash[]
      startBlock: bigint
      startNonce: number
      signer?: Address
      replacement?: Hash
    } = { pendingOps: [], startBlock: 0n, startNonce: 0 }

    it('the new process replaces it at the same nonce with its own ops', async () => {
      const { key, signer } = await fundedKey()
      const entryPoint = chain.deployment.entryPoints[VERSION]
      stuck.signer = signer
      stuck.startBlock = await chain.client.getBlockNumber()
      stuck.startNonce = await chain.client.getTransactionCount({ address: signer })
      const { pending, pendingOps } = await pendAndKill(key, signer, stuck.startNonce)
      stuck.pendingOps = pendingOps
      const { gas } = await chain.client.getTransaction({ hash: pending.hash })
      const setGasLimit = (g: bigint) =>
        chain.client.request({ method: 'evm_setBlockGasLimit' as never, params: [numberToHex(g)] as never })
      await setGasLimit(gas - 1n)
      try {
        await mine()
        expect((await pendingTxsFrom(chain.url, signer)).get(stuck.startNonce)?.hash).toBe(pending.hash)

        const second = await startNode(key, 'auto')
        // A new op that pays enough for the replacement's raised fees.
        const fees = await currentFees(chain)
        const fresh = await buildOp(chain, VERSION, {
          owner: newOwner(),
          overrides: {
            maxFeePerGas: fees.maxFeePerGas * 4n,
            maxPriorityFeePerGas: fees.maxPriorityFeePerGas * 4n,
            preVerificationGas: 60_000n,
          },
        })
        await sendOps(second.rpcUrl, entryPoint, [fresh])
        let events = new Map<Hash, { txHash: Hash }[]>()
        await waitFor(
          async () => {
            await mine()
            const head = await chain.client.getBlockNumber()
            events = await userOpEvents(chain.client, entryPoint, stuck.startBlock + 1n, head)
            return events.has(fresh.hash.toLowerCase() as Hash)
          },
          'the new op to be mined',
          { intervalMs: 300 },
        )
        const txs = await minedTxsFrom(
          chain.client,
          [signer],
          stuck.startBlock + 1n,
          await chain.client.getBlockNumber(),
        )
        stuck.replacement = events.get(fresh.hash.toLowerCase() as Hash)?.[0]?.txHash
        const replacement = txs.find((t) => t.hash === stuck.replacement)
        expect(replacement?.nonce).toBe(stuck.startNonce)
        expect(replacement?.hash).not.toBe(pending.hash)
      } finally {
        await setGasLimit(30_000_000n)
      }
    }, 120_000)

    // The taken-over bundle's ops are not in the new process's pool until the sender re-admits them
    // from its calldata: without that, the replacement would drop them and they would never be mined.
    it('every op of the stuck bundle is still mined exactly once', async () => {
      expect(stuck.replacement, 'the replacement step ran').toBeDefined()
      const entryPoint = chain.deployment.entryPoints[VERSION]
      // Blocks are big again: plenty of chances to bundle whatever is pooled.
      for (let i = 0; i < 6; i++) {
        await mine()
        await new Promise((r) => setTimeout(r, 300))
      }
      const head = await chain.client.getBlockNumber()
      const events = await userOpEvents(chain.client, entryPoint, stuck.startBlock + 1n, head)
      const counts = Object.fromEntries(stuck.pendingOps.map((h) => [h, events.get(h)?.length ?? 0]))
      expect(counts).toEqual(Object.fromEntries(stuck.pendingOps.map((h) => [h, 1])))
    }, 60_000)
  })
})
