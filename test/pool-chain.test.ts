import { type Address, createWalletClient, getAddress, type Hash, http } from 'viem'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { chainSpecFor } from '../src/chain/chain-spec.js'
import { ENTRY_POINT_VERSIONS, type EntryPointVersion, entryPointAbi } from '../src/chain/entrypoint.js'
import type { NewHead } from '../src/pool/types.js'
import { defaultSimSettings } from '../src/sim/settings.js'
import { Simulator } from '../src/sim/simulator.js'
import { buildOp, newOwner } from './harness/account.js'
import { bundleOps } from './harness/bundle.js'
import { startTestChain, type TestChain } from './harness/chain.js'
import { type AnyPool, makePool, POOL_BACKENDS, usePoolBackend } from './support/pool-backends.js'

// Real anvil, real EntryPoints, real simulation: the chain tracker against blocks anvil mines.
let chain: TestChain
const pools: AnyPool[] = []

beforeAll(async () => {
  chain = await startTestChain()
})
afterEach(async () => {
  for (const p of pools.splice(0)) await p.stop()
})
afterAll(async () => {
  await chain?.stop()
})

async function startPool(): Promise<AnyPool> {
  const pool = makePool({
    settings: { chainId: chain.chainId, blockPollIntervalMs: 25, chainHistoryBlocks: 16 },
    client: chain.client,
    validator: new Simulator({
      client: chain.client,
      settings: defaultSimSettings(chainSpecFor(chain.chainId)),
    }),
    entryPoints: ENTRY_POINT_VERSIONS.map((v) => chain.deployment.entryPoints[v]),
  })
  pools.push(pool)
  await pool.start()
  return pool
}

async function waitFor<T>(
  what: string,
  f: () => Promise<T | undefined | false>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await f()
    if (v !== undefined && v !== false) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

/** Room for the real signature's bytes over the harness's PVG estimate (the precheck is not under test). */
const build = (version: EntryPointVersion, owner = newOwner()) =>
  buildOp(chain, version, { owner, overrides: { preVerificationGas: 100_000n } })

const rpc = (method: string, params: unknown[] = []) =>
  chain.client.request({ method: method as never, params: params as never })

describe.each(POOL_BACKENDS)('%s pool', (backend) => {
  usePoolBackend(backend)
  describe.each(ENTRY_POINT_VERSIONS)('chain tracking %s', (version: EntryPointVersion) => {
    const ep = () => chain.deployment.entryPoints[version]

    it('removes mined ops from the pool and records their receipt data', async () => {
      const pool = await startPool()
      const a = await build(version)
      const b = await build(version)
      expect(await pool.addOp(ep(), a.op)).toBe(a.hash)
      expect(await pool.addOp(ep(), b.op)).toBe(b.hash)
      expect((await pool.dumpMempool(ep())).length).toBe(2)

      const bundle = await bundleOps(chain, version, [a.op, b.op])
      expect(bundle.events.map((e) => e.success)).toEqual([true, true])
      const info = await waitFor('op a mined', () => pool.getMinedOp(a.hash))
      expect(await pool.dumpMempool(ep())).toEqual([])
      expect(await pool.getOp(a.hash)).toBeUndefined()

      const ev = bundle.events[0]
      expect(info).toMatchObject({
        hash: a.hash,
        entryPoint: ep(),
        blockNumber: bundle.receipt.blockNumber,
        blockHash: bundle.receipt.blockHash,
        transactionHash: bundle.txHash,
        success: true,
        sender: a.sender,
        nonce: a.op.nonce,
        actualGasCost: ev?.actualGasCost,
        actualGasUsed: ev?.actualGasUsed,
      })
      expect(info.op.callData).toBe(a.op.callData)
      expect((info.receipt as { transactionHash: Hash }).transactionHash).toBe(bundle.txHash)
      const infoB = await pool.getMinedOp(b.hash)
      expect(infoB?.actualGasCost).toBe(bundle.events[1]?.actualGasCost)
      // Each op's logs lie strictly before its own UserOperationEvent and after the previous op's.
      const idx = (l: unknown) => (l as { logIndex: number }).logIndex
      const lastA = Math.max(-1, ...info.logs.map(idx))
      for (const l of infoB?.logs ?? []) expect(idx(l)).toBeGreaterThan(lastA)

      // Inclusion counts for the op's entities (sender and factory).
      const rep = await pool.dumpReputation(ep())
      expect(rep.find((r) => r.address === a.sender)).toMatchObject({ opsSeen: 1, opsIncluded: 1 })
      const factory = rep.find((r) => r.address === chain.deployment.factories[version])
      expect(factory?.opsIncluded).toBeGreaterThanOrEqual(2)
      expect(await pool.isCurrent()).toBe(true)
    })

    it('credits the factory of an op the builder removed before its block was applied', async () => {
      const pool = await startPool()
      const a = await build(version)
      await pool.addOp(ep(), a.op)
      const factory = chain.deployment.factories[version]
      const before = (await pool.dumpReputation(ep())).find((r) => r.address === factory)?.opsIncluded ?? 0
      // As the builder does on the bundle's receipt.
      await pool.removeOps(ep(), [a.hash])
      await bundleOps(chain, version, [a.op])
      await waitFor('op a mined', () => pool.getMinedOp(a.hash))
      const rep = await pool.dumpReputation(ep())
      expect(rep.find((r) => r.address === factory)?.opsIncluded).toBe(before + 1)
      expect(rep.find((r) => r.address === a.sender)?.opsIncluded).toBe(1)
    })

    it('removes a pooled op whose (sender, nonce) was mined under another hash', async () => {
      const pool = await startPool()
      const owner = newOwner()
      const pooled = await build(version, owner)
      await pool.addOp(ep(), pooled.op)
      // The same sender and nonce, different calldata: mined directly, never seen by the pool.
      const other = await buildOp(chain, version, {
        owner,
        overrides: { preVerificationGas: 100_001n },
      })
      expect(other.hash).not.toBe(pooled.hash)
      await bundleOps(chain, version, [other.op])
      await waitFor('other op recorded', () => pool.getMinedOp(other.hash))
      expect(await pool.getOp(pooled.hash)).toBeUndefined()
    })
  })

  describe('stake status', () => {
    it('reads the EntryPoint deposit info: staked with 1 ETH and a day, unstaked otherwise', async () => {
      const version: EntryPointVersion = 'v0.7'
      const ep = chain.deployment.entryPoints[version]
      const pool = await startPool()
      // One dev account per backend: the stake added by the first run stays on the shared chain.
      const staker = ((await rpc('eth_accounts')) as Address[])[POOL_BACKENDS.indexOf(backend)]
      if (!staker) throw new Error('anvil has no dev account')
      const wallet = createWalletClient({ transport: http(chain.url), account: staker })
      const tx = await wallet.writeContract({
        chain: null,
        address: ep,
        abi: entryPointAbi(version),
        functionName: 'addStake',
        args: [86_400],
        value: 10n ** 18n,
      })
      await chain.client.waitForTransactionReceipt({ hash: tx, pollingInterval: 25 })
      const staked = await pool.getStakeStatus(ep, staker)
      expect(staked).toEqual({
        stakeInfo: { addr: getAddress(staker), stake: 10n ** 18n, unstakeDelaySec: 86_400n },
        isStaked: true,
      })
      const other = newOwner().address
      expect(await pool.getStakeStatus(ep, other)).toEqual({
        stakeInfo: { addr: other, stake: 0n, unstakeDelaySec: 0n },
        isStaked: false,
      })
    })
  })

  describe('reorgs', () => {
    it('returns the ops of a reorged-out block to the pool, then removes them when mined again', async () => {
      const version: EntryPointVersion = 'v0.7'
      const ep = chain.deployment.entryPoints[version]
      const pool = await startPool()
      const a = await build(version)
      await pool.addOp(ep, a.op)

      const snapshot = await rpc('evm_snapshot')
      const bundle = await bundleOps(chain, version, [a.op])
      await waitFor('mined', () => pool.getMinedOp(a.hash))
      expect(await pool.getOp(a.hash)).toBeUndefined()
      expect((await pool.dumpReputation(ep)).find((r) => r.address === a.sender)?.opsIncluded).toBe(1)

      // Back to before the bundle; the new branch outgrows the old one.
      expect(await rpc('evm_revert', [snapshot])).toBe(true)
      await rpc('anvil_dropAllTransactions')
      await rpc('evm_mine')
      await rpc('evm_mine')
      const replaced = await chain.client.getBlock({ blockNumber: bundle.receipt.blockNumber })
      expect(replaced.hash).not.toBe(bundle.receipt.blockHash)
      expect(replaced.transactions).not.toContain(bundle.txHash)

      const back = await waitFor('op back in the pool', () => pool.getOp(a.hash))
      expect(back.op.nonce).toBe(a.op.nonce)
      expect(await pool.getMinedOp(a.hash)).toBeUndefined()
      expect((await pool.dumpReputation(ep)).find((r) => r.address === a.sender)?.opsIncluded).toBe(0)
      const ops = await pool.getOps({ entryPoint: ep, maxOps: 10, shardIndex: 0 })
      expect(ops.map((o) => o.hash)).toContain(a.hash)

      // Mined again on the new branch: it leaves again.
      const again = await bundleOps(chain, version, [a.op])
      const info = await waitFor('mined again', () => pool.getMinedOp(a.hash))
      expect(info.transactionHash).toBe(again.txHash)
      expect(await pool.getOp(a.hash)).toBeUndefined()
    })
  })

  describe('same-height reorg', () => {
    it('a block replaced at the same height (the chain does not grow) returns its ops', async () => {
      const version: EntryPointVersion = 'v0.7'
      const ep = chain.deployment.entryPoints[version]
      const pool = await startPool()
      const a = await build(version)
      await pool.addOp(ep, a.op)
      const snapshot = await rpc('evm_snapshot')
      const bundle = await bundleOps(chain, version, [a.op])
      await waitFor('mined', () => pool.getMinedOp(a.hash))
      const minedAt = await chain.client.getBlock({ blockNumber: bundle.receipt.blockNumber })

      expect(await rpc('evm_revert', [snapshot])).toBe(true)
      await rpc('anvil_dropAllTransactions')
      await rpc('evm_mine', [Number(minedAt.timestamp) + 100])
      const now = await chain.client.getBlock({ blockTag: 'latest' })
      expect(now.number).toBe(bundle.receipt.blockNumber)
      expect(now.hash).not.toBe(bundle.receipt.blockHash)

      const back = await waitFor('op back in the pool', () => pool.getOp(a.hash))
      expect(back.hash).toBe(a.hash)
      expect(await pool.getMinedOp(a.hash)).toBeUndefined()
      expect((await pool.dumpReputation(ep)).find((r) => r.address === a.sender)?.opsIncluded).toBe(0)
    })
  })

  describe('new heads', () => {
    it("delivers every block in order with a tracked address's nonce, balance and mined tx hashes", async () => {
      const version: EntryPointVersion = 'v0.8'
      const pool = await startPool()
      const bundler = newOwner()
      const idle: Address = newOwner().address
      await rpc('anvil_setBalance', [bundler.address, '0x56bc75e2d63100000'])
      const heads = pool.subscribeNewHeads([bundler.address, idle])[Symbol.asyncIterator]()
      // A slow reader: nothing is read until several blocks have passed.
      const a = await build(version)
      const first = await bundleOps(chain, version, [a.op], { bundler })
      const b = await build(version)
      const second = await bundleOps(chain, version, [b.op], { bundler })
      for (let i = 0; i < 3; i++) await rpc('evm_mine')
      const last = await chain.client.getBlockNumber({ cacheTime: 0 })

      const got: NewHead[] = []
      while ((got[got.length - 1]?.blockNumber ?? 0n) < last) {
        const r = await heads.next()
        if (r.done) throw new Error('subscription ended')
        got.push(r.value)
      }
      await heads.return?.()
      // Consecutive, none dropped.
      for (let i = 1; i < got.length; i++)
        expect(got[i]?.blockNumber).toBe((got[i - 1]?.blockNumber ?? 0n) + 1n)
      expect(got.map((h) => h.blockNumber)).toContain(first.receipt.blockNumber)

      for (const h of got) {
        const block = await chain.client.getBlock({ blockNumber: h.blockNumber, includeTransactions: true })
        expect(h.blockHash).toBe(block.hash)
        const [mine, other] = h.addressUpdates
        expect(mine?.address).toBe(bundler.address)
        expect(other?.address).toBe(idle)
        expect(mine?.balance).toBe(
          await chain.client.getBalance({ address: bundler.address, blockNumber: h.blockNumber }),
        )
        expect(other).toEqual({ address: idle, balance: 0n, minedTxHashes: [], nonce: undefined })
        const sent = block.transactions.filter((t) => t.from.toLowerCase() === bundler.address.toLowerCase())
        expect(mine?.minedTxHashes).toEqual(sent.map((t) => t.hash))
        if (h.blockNumber === first.receipt.blockNumber) {
          expect(mine?.minedTxHashes).toEqual([first.txHash])
          expect(mine?.nonce).toBe(0n)
        } else if (h.blockNumber === second.receipt.blockNumber) {
          expect(mine?.minedTxHashes).toEqual([second.txHash])
          expect(mine?.nonce).toBe(1n)
        } else {
          expect(mine?.nonce).toBeUndefined()
        }
      }
    })
  })
})
