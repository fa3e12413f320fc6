import type { Address, Hash } from 'viem'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { chainSpecFor } from '../src/chain/chain-spec.js'
import type { EntryPointVersion } from '../src/chain/entrypoint.js'
import { RedisPool } from '../src/pool/redis/redis-pool.js'
import { defaultSimSettings } from '../src/sim/settings.js'
import { Simulator } from '../src/sim/simulator.js'
import { RpcCode, RpcError } from '../src/util/errors.js'
import { buildOp, newOwner } from './harness/account.js'
import { bundleOps } from './harness/bundle.js'
import { startTestChain, type TestChain } from './harness/chain.js'
import { type RedisNode, startRedis } from './support/redis.js'

// What only the Redis pool has: several processes on one pool (each RedisPool here stands for one
// process: its own connection, chain tracker and new heads), and a Redis that goes away. Real anvil,
// real EntryPoints, real simulation, a real redis-server.
let chain: TestChain
let redis: RedisNode
const pools: RedisPool[] = []
let ns = 0

beforeAll(async () => {
  ;[chain, redis] = await Promise.all([startTestChain(), startRedis()])
}, 60_000)
afterEach(async () => {
  for (const p of pools.splice(0)) await p.stop()
})
afterAll(async () => {
  await Promise.all([chain?.stop(), redis?.stop()])
})

const version: EntryPointVersion = 'v0.7'
const ep = () => chain.deployment.entryPoints[version]

function process_(namespace: string, commandTimeoutMillis = 3_000): RedisPool {
  const pool = new RedisPool({
    settings: { chainId: chain.chainId, blockPollIntervalMs: 25, chainHistoryBlocks: 16 },
    client: chain.client,
    validator: new Simulator({
      client: chain.client,
      settings: defaultSimSettings(chainSpecFor(chain.chainId)),
    }),
    entryPoints: [ep()],
    redisUri: redis.url,
    namespace,
    commandTimeoutMillis,
  })
  pools.push(pool)
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

const build = (owner = newOwner(), pvg = 100_000n) =>
  buildOp(chain, version, { owner, overrides: { preVerificationGas: pvg } })

describe('one pool, several processes', () => {
  it('an op admitted by one is bundled from the other; the block counts once; both answer the receipt', async () => {
    const namespace = `multi${ns++}`
    const a = process_(namespace)
    const b = process_(namespace)
    await Promise.all([a.start(), b.start()])
    const op = await build()
    await a.addOp(ep(), op.op)
    const fromB = await b.getOps({ entryPoint: ep(), maxOps: 10, shardIndex: 0 })
    expect(fromB.map((o) => o.hash)).toEqual([op.hash])
    expect(fromB[0]?.op).toEqual(op.op)
    // Admitted once: a second process refuses the same op.
    const dup = await b.addOp(ep(), op.op).catch((e: unknown) => e)
    expect(dup).toBeInstanceOf(RpcError)

    const bundle = await bundleOps(chain, version, [op.op])
    const [infoA, infoB] = await Promise.all([
      waitFor('a sees it mined', () => a.getMinedOp(op.hash)),
      waitFor('b sees it mined', () => b.getMinedOp(op.hash)),
    ])
    expect(infoA.transactionHash).toBe(bundle.txHash)
    expect(infoB).toEqual(infoA)
    // Both processes applied the block; the watermark let only one of them count it.
    await waitFor('both current', async () => (await a.isCurrent()) && (await b.isCurrent()))
    const rep = await a.dumpReputation(ep())
    expect(rep.find((r) => r.address === op.sender)).toMatchObject({ opsSeen: 1, opsIncluded: 1 })
    expect(await b.dumpMempool(ep())).toEqual([])
  })

  it('two processes racing to admit the same (sender, nonce): one op is pooled, never both', async () => {
    const namespace = `race${ns++}`
    const a = process_(namespace)
    const b = process_(namespace)
    const owner = newOwner()
    const x = await build(owner, 100_000n)
    const y = await build(owner, 100_001n)
    const results = await Promise.allSettled([a.addOp(ep(), x.op), b.addOp(ep(), y.op)])
    const pooled = await a.dumpMempool(ep())
    expect(pooled).toHaveLength(1)
    // Equal fees: whichever came second is an underpriced replacement.
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult
    expect((refused.reason as RpcError).message).toMatch(/replacement underpriced/)
  })

  it('a restarted process catches up on the blocks mined while every process was down', async () => {
    const namespace = `restart${ns++}`
    const first = process_(namespace)
    await first.start()
    const op = await build()
    await first.addOp(ep(), op.op)
    await first.stop()
    // Mined while no process follows the chain.
    await bundleOps(chain, version, [op.op])
    const second = process_(namespace)
    await second.start()
    const info = await waitFor('receipt', () => second.getMinedOp(op.hash))
    expect(info.sender).toBe(op.sender)
    expect(await second.dumpMempool(ep())).toEqual([])
  })
})

describe('Redis unreachable', () => {
  it('admissions answer a JSON-RPC error promptly; new heads keep coming; Redis back → normal', async () => {
    const own = await startRedis()
    try {
      const pool = new RedisPool({
        settings: { chainId: chain.chainId, blockPollIntervalMs: 25, chainHistoryBlocks: 16 },
        client: chain.client,
        validator: new Simulator({
          client: chain.client,
          settings: defaultSimSettings(chainSpecFor(chain.chainId)),
        }),
        entryPoints: [ep()],
        redisUri: own.url,
        namespace: 'down',
        commandTimeoutMillis: 500,
      })
      pools.push(pool)
      await pool.start()
      const watched: Address = newOwner().address
      const heads = pool.subscribeNewHeads([watched])[Symbol.asyncIterator]()
      await own.stop()

      const t0 = Date.now()
      const err = await pool.addOp(ep(), (await build()).op).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(RpcError)
      expect((err as RpcError).code).toBe(RpcCode.InternalError)
      expect((err as RpcError).message).toMatch(/mempool store \(Redis\) is unavailable/)
      expect(Date.now() - t0).toBeLessThan(5_000)
      const getOps = await pool
        .getOps({ entryPoint: ep(), maxOps: 1, shardIndex: 0 })
        .catch((e: unknown) => e)
      expect(getOps).toBeInstanceOf(RpcError)

      // The chain is still followed for the builders (their pending bundles), Redis or not.
      const before = await chain.client.getBlockNumber({ cacheTime: 0 })
      await chain.client.request({ method: 'evm_mine' as never })
      let head = (await heads.next()).value
      while (head && head.blockNumber <= before) head = (await heads.next()).value
      expect(head?.blockNumber).toBe(before + 1n)
      expect(await pool.isCurrent()).toBe(false) // the pool itself is behind

      await own.restart()
      const op = await build()
      await waitFor('admission works again', () => pool.addOp(ep(), op.op).catch(() => undefined), 10_000)
      expect((await pool.getOps({ entryPoint: ep(), maxOps: 5, shardIndex: 0 })).map((o) => o.hash)).toEqual([
        op.hash as Hash,
      ])
    } finally {
      await own.stop()
    }
  })
})
