/**
 * Pool benchmarks, for the in-memory pool and the Redis pool (a private redis-server): getOps latency
 * at 10k and 100k pooled ops, memory per op (heap, resp. Redis used_memory), the cost of a base fee
 * change, and admission throughput with synthetic and with real simulation against anvil.
 *
 *   npx tsx bench/pool.ts   (BENCH_POOL_SKIP_CHAIN=1: no anvil part; BENCH_POOL_SKIP_REDIS=1: memory only)
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import {
  type Address,
  createPublicClient,
  custom,
  getAddress,
  type Hash,
  type Hex,
  keccak256,
  type PublicClient,
  pad,
  toHex,
} from 'viem'
import { chainSpecFor } from '../src/chain/chain-spec.js'
import { ENTRY_POINTS } from '../src/chain/entrypoint.js'
import type { UserOperation } from '../src/chain/userop.js'
import { LocalPool, type LocalPoolOptions } from '../src/pool/pool.js'
import { RedisPool } from '../src/pool/redis/redis-pool.js'
import { defaultSimSettings } from '../src/sim/settings.js'
import { Simulator } from '../src/sim/simulator.js'
import type { ValidationResult, Validator } from '../src/sim/types.js'
import { type RedisNode, startRedis } from '../test/support/redis.js'
import { percentile } from './support/timing.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const EP = ENTRY_POINTS['v0.7'].address

/** Deterministic pseudo-random numbers (xorshift), so runs are comparable. */
let seed = 0x2545f491
function rand(): number {
  seed ^= seed << 13
  seed ^= seed >>> 17
  seed ^= seed << 5
  return (seed >>> 0) / 0x1_0000_0000
}
const randHex = (bytes: number): Hex =>
  `0x${Array.from({ length: bytes }, () =>
    Math.floor(rand() * 256)
      .toString(16)
      .padStart(2, '0'),
  ).join('')}`

/** An op shaped like a real SimpleAccount execute() with an ECDSA signature. */
function syntheticOp(i: number): UserOperation {
  const sender = getAddress(pad(toHex(BigInt(keccak256(toHex(i >> 2))) >> 96n), { size: 20 }))
  const prio = BigInt(Math.floor(rand() * 5e9))
  return {
    sender,
    nonce: BigInt(i & 3),
    callData: randHex(228),
    callGasLimit: 150_000n,
    verificationGasLimit: 150_000n,
    preVerificationGas: 60_000n,
    maxFeePerGas: prio + BigInt(Math.floor(rand() * 60e9)),
    maxPriorityFeePerGas: prio,
    signature: randHex(65),
  }
}

/** What the real simulator reports for such an op: stake infos, code hashes and a few storage reads. */
class SyntheticValidator implements Validator {
  async validate(_ep: Address, op: UserOperation): Promise<ValidationResult> {
    const none = { stake: 0n, unstakeDelaySec: 0n, isStaked: false }
    return {
      preOpGas: 200_000n,
      prefund: 10n ** 15n,
      validAfter: 0n,
      validUntil: 0n,
      accountSigFailed: false,
      paymasterSigFailed: false,
      paymasterContext: '0x',
      sender: { address: op.sender, ...none },
      blockNumber: 1n,
      blockHash: randHex(32),
      codeHashes: { [op.sender]: randHex(32), [EP]: randHex(32) },
      accessedStorage: { [op.sender]: { [randHex(32)]: randHex(32), [randHex(32)]: randHex(32) } },
    }
  }
}

function offlineClient(): PublicClient {
  return createPublicClient({
    transport: custom({
      async request({ method }: { method: string }) {
        if (method === 'eth_getLogs') return []
        throw new Error(`offline: ${method}`)
      },
    }),
  }) as PublicClient
}

const heapMb = () => {
  gc()
  return process.memoryUsage().heapUsed / 2 ** 20
}

type AnyPool = LocalPool | RedisPool
type Backend = 'memory' | 'redis'
let redis: RedisNode | undefined
let namespaces = 0

function makePool(backend: Backend, o: LocalPoolOptions): AnyPool {
  if (backend === 'memory') return new LocalPool(o)
  return new RedisPool({ ...o, redisUri: (redis as RedisNode).url, namespace: `bench${namespaces++}` })
}

/** Bytes Redis uses (used_memory), or the JS heap for the in-memory pool. */
async function memoryMb(pool: AnyPool): Promise<number> {
  if (pool instanceof LocalPool) return heapMb()
  const info = await pool.redis.info('memory')
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0) / 2 ** 20
}

/** Admission with `inFlight` concurrent addOp calls (one RPC server's concurrent requests). */
async function fill(pool: AnyPool, n: number, inFlight = 1): Promise<number> {
  const t0 = performance.now()
  let next = 0
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < n) await pool.addOp(EP, syntheticOp(next++))
    }),
  )
  return performance.now() - t0
}

/** PINGs Redis on its own connection until stopped; resolves with the longest round trip (ms). */
function pingWhile(redis: { duplicate(): { ping(): Promise<string>; quit(): Promise<string> } }) {
  const conn = redis.duplicate()
  let running = true
  let longest = 0
  const loop = (async () => {
    while (running) {
      const t0 = performance.now()
      await conn.ping()
      longest = Math.max(longest, performance.now() - t0)
    }
  })()
  return {
    stop: async () => {
      running = false
      await loop
      await conn.quit()
      return longest
    },
  }
}

async function getOpsLatency(pool: AnyPool, shards: number, rounds: number) {
  const times: number[] = []
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now()
    const ops = await pool.getOps({ entryPoint: EP, maxOps: 128, shardIndex: r % shards })
    times.push(performance.now() - t0)
    if (ops.length !== 128) throw new Error(`getOps returned ${ops.length} ops`)
  }
  times.sort((a, b) => a - b)
  return { median: percentile(times, 50), p99: percentile(times, 99) }
}

let blockNo = 0n
function block(baseFeePerGas: bigint) {
  blockNo++
  return {
    number: blockNo,
    hash: pad(toHex(blockNo), { size: 32 }) as Hash,
    parentHash: pad(toHex(blockNo - 1n), { size: 32 }) as Hash,
    timestamp: blockNo,
    baseFeePerGas,
  }
}

async function offline(backend: Backend, size: number, shards: number, inFlight = 1) {
  seed = 0x2545f491
  const pool = makePool(backend, {
    settings: { chainId: 1, numShards: shards, maxPoolOps: 1_000_000 },
    client: offlineClient(),
    validator: new SyntheticValidator(),
    entryPoints: [EP],
  })
  const before = await memoryMb(pool)
  const fillMs = await fill(pool, size, inFlight)
  const heap = (await memoryMb(pool)) - before
  await pool.processBlock(block(20_000_000_000n))
  const atBase20 = await getOpsLatency(pool, shards, 1000)
  // A 12.5% base fee step: only ops whose headroom falls in between change group.
  const t0 = performance.now()
  await pool.processBlock(block(22_500_000_000n))
  const stepMs = performance.now() - t0
  // A jump across every op's headroom: the worst case, every op changes group. On Redis, another
  // client's PING meanwhile shows how long the scripts hold the server.
  const held = backend === 'redis' ? pingWhile((pool as RedisPool).redis) : undefined
  const t1 = performance.now()
  await pool.processBlock(block(100_000_000_000n))
  const jumpMs = performance.now() - t1
  const heldMs = await held?.stop()
  const atBase100 = await getOpsLatency(pool, shards, 1000)
  const fmt = (x: number) => x.toFixed(3)
  console.log(
    `${backend} pool ${size.toLocaleString('en')} ops, ${shards} shard(s): admission (synthetic validation, ${inFlight} in flight) ${Math.round(
      (size / fillMs) * 1000,
    ).toLocaleString(
      'en',
    )} ops/s; ${backend === 'memory' ? 'heap' : 'Redis used_memory'} +${heap.toFixed(0)} MB (${(
      (heap * 2 ** 20) / size
    ).toFixed(0)} B/op)`,
  )
  console.log(
    `  getOps(128) median ${fmt(atBase20.median)} ms, p99 ${fmt(atBase20.p99)} ms; after base fee jump median ${fmt(
      atBase100.median,
    )} ms, p99 ${fmt(atBase100.p99)} ms`,
  )
  console.log(
    `  base fee change: +12.5% ${stepMs.toFixed(1)} ms, jump past every op ${jumpMs.toFixed(1)} ms${
      heldMs === undefined ? '' : ` (another client's longest PING meanwhile: ${heldMs.toFixed(1)} ms)`
    }`,
  )
  await pool.clearMempool()
  await pool.stop()
}

async function admissionWithSimulation(backend: Backend, n: number, concurrency: number) {
  const { startTestChain } = await import('../test/harness/chain.js')
  const { buildOp, newOwner } = await import('../test/harness/account.js')
  const chain = await startTestChain()
  try {
    const version = 'v0.7' as const
    const ep = chain.deployment.entryPoints[version]
    const ops: UserOperation[] = []
    for (let i = 0; i < n; i++) {
      // First ops of fresh accounts (with factory): each needs the full validation path.
      const { op } = await buildOp(chain, version, {
        owner: newOwner(),
        overrides: { preVerificationGas: 100_000n },
      })
      ops.push(op)
    }
    // An unstaked factory may have only SAME_UNSTAKED_ENTITY_MEMPOOL_COUNT ops pooled: allow-list it here.
    const pool = makePool(backend, {
      settings: {
        chainId: chain.chainId,
        reputation: { allowlist: [chain.deployment.factories[version]] },
      },
      client: chain.client,
      validator: new Simulator({
        client: chain.client,
        settings: defaultSimSettings(chainSpecFor(chain.chainId)),
      }),
      entryPoints: [ep],
    })
    let next = 0
    const t0 = performance.now()
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < ops.length) {
          const op = ops[next++] as UserOperation
          await pool.addOp(ep, op)
        }
      }),
    )
    const ms = performance.now() - t0
    const pooled = (await pool.dumpMempool(ep)).length
    await pool.stop()
    console.log(
      `${backend} pool: admission with real simulation (anvil, ${n} ops, ${concurrency} in flight): ${((n / ms) * 1000).toFixed(0)} ops/s, ${(ms / n).toFixed(2)} ms/op; pooled ${pooled}`,
    )
  } finally {
    await chain.stop()
  }
}

const backends: Backend[] = process.env.BENCH_POOL_SKIP_REDIS ? ['memory'] : ['memory', 'redis']
if (backends.includes('redis')) redis = await startRedis()
try {
  for (const backend of backends) {
    await offline(backend, 10_000, 1)
    await offline(backend, 100_000, 1, backend === 'redis' ? 16 : 1)
    await offline(backend, 100_000, 4, backend === 'redis' ? 16 : 1)
    if (backend === 'redis') await offline(backend, 10_000, 1, 1) // one at a time: the round-trip cost
  }
  if (!process.env.BENCH_POOL_SKIP_CHAIN) {
    for (const backend of backends) await admissionWithSimulation(backend, 300, 8)
  }
} finally {
  await redis?.stop()
}
