/**
 * Scale-out on one Redis pool: one redis-server, one anvil (1 s blocks) and three Conveyor processes
 * — two `conveyor node`, one `conveyor builder` — each with its own 2 signers. 300 ops are sent
 * round-robin to the two RPC processes; midway one `node` is SIGKILLed (its claims expire with it).
 * Every op is mined exactly once (one UserOperationEvent per userOpHash on chain) and the surviving
 * RPC process answers every receipt. Then: every process stopped while ops are pooled, started
 * again → all mined. Then: Redis down → a clear JSON-RPC error, not a hang.
 */
import { type Address, type Hash, type Hex, numberToHex } from 'viem'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeUserOp } from '../src/rpc/encode.js'
import { startTestChain, type TestChain } from './harness/chain.js'
import {
  type BuiltOp,
  buildFreshOps,
  jsonRpc,
  minedTxsFrom,
  opHashesInBundle,
  sendOps,
  stopConveyor,
  userOpEvents,
} from './support/bundler-load.js'
import { conveyor, type Run } from './support/conveyor-process.js'
import { type RedisNode, startRedis } from './support/redis.js'
import { waitFor } from './support/wait.js'

const VERSION = 'v0.7' as const
const SIGNERS_PER_PROCESS = 2
const OPS = 300

let chain: TestChain
let redis: RedisNode
const runs: Run[] = []
const signerAddresses: Address[] = []

beforeAll(async () => {
  ;[chain, redis] = await Promise.all([startTestChain({ blockTime: 1 }), startRedis()])
}, 90_000)
afterAll(async () => {
  for (const r of runs) await stopConveyor(r)
  await Promise.all([chain?.stop(), redis?.stop()])
})

async function fundedKeys(n: number): Promise<Hex[]> {
  const keys = Array.from({ length: n }, () => generatePrivateKey())
  for (const k of keys) {
    signerAddresses.push(privateKeyToAddress(k))
    await chain.client.request({
      method: 'anvil_setBalance' as never,
      params: [privateKeyToAddress(k), numberToHex(10n ** 21n)] as never,
    })
  }
  return keys
}

async function start(
  command: 'node' | 'rpc' | 'builder',
): Promise<{ run: Run; rpcUrl?: string; adminUrl?: string; signers: Address[] }> {
  const args = [
    command,
    '--node_http',
    chain.url,
    '--pool.redis_uri',
    redis.url,
    '--num_signers',
    String(SIGNERS_PER_PROCESS),
    '--rpc.port',
    '0',
    '--metrics.port',
    '0',
    '--entry_points',
    VERSION,
    '--pool.allowlist',
    chain.deployment.factories[VERSION],
    '--log.level',
    'warn',
  ]
  const keys = command === 'rpc' ? [] : await fundedKeys(SIGNERS_PER_PROCESS)
  if (keys.length > 0) args.push('--signer.private_keys', keys.join(','))
  const run = conveyor(args)
  runs.push(run)
  const ready = await run.ready(60_000)
  return {
    run,
    rpcUrl: ready.rpcUrl as string | undefined,
    adminUrl: ready.adminUrl as string | undefined,
    signers: keys.map((k) => privateKeyToAddress(k)),
  }
}

const entryPoint = () => chain.deployment.entryPoints[VERSION]

/** Waits until every op has a UserOperationEvent, then two more blocks, and returns the events. */
async function minedOnce(ops: BuiltOp[], fromBlock: bigint, timeoutMs: number) {
  const hashes = ops.map((o) => o.hash.toLowerCase() as Hash)
  let events = new Map<Hash, { txHash: Hash; success: boolean }[]>()
  let head = fromBlock
  await waitFor(
    async () => {
      head = await chain.client.getBlockNumber({ cacheTime: 0 })
      events = await userOpEvents(chain.client, entryPoint(), fromBlock, head)
      return hashes.every((h) => events.has(h))
    },
    `all ${ops.length} ops to be mined`,
    { timeoutMs, intervalMs: 500 },
  )
  await waitFor(
    async () => (await chain.client.getBlockNumber({ cacheTime: 0 })) >= head + 2n,
    'two more blocks',
    {
      intervalMs: 200,
    },
  )
  events = await userOpEvents(
    chain.client,
    entryPoint(),
    fromBlock,
    await chain.client.getBlockNumber({ cacheTime: 0 }),
  )
  return { hashes, events }
}

describe('three Conveyor processes on one Redis pool', () => {
  it(`mines ${OPS} ops exactly once across a SIGKILL; the survivor answers every receipt`, async () => {
    const [a, b, c] = await Promise.all([start('node'), start('node'), start('builder')])
    expect(c.rpcUrl).toBeUndefined()
    const fromBlock = (await chain.client.getBlockNumber({ cacheTime: 0 })) + 1n
    const built = await buildFreshOps(chain, VERSION, OPS, 16)
    const half = OPS / 2
    // Round-robin over the two RPC processes.
    const toA = built.slice(0, half).filter((_, i) => i % 2 === 0)
    const toB = built.slice(0, half).filter((_, i) => i % 2 === 1)
    await Promise.all([
      sendOps(a.rpcUrl as string, entryPoint(), toA, 8),
      sendOps(b.rpcUrl as string, entryPoint(), toB, 8),
    ])
    // Midway: one node dies without a word (its pending bundles and claims are left behind).
    b.run.child.kill('SIGKILL')
    await b.run.exited(10_000)
    await sendOps(a.rpcUrl as string, entryPoint(), built.slice(half), 8)

    const { hashes, events } = await minedOnce(built, fromBlock, 240_000)
    expect(
      hashes.filter((h) => events.get(h)?.length !== 1),
      'ops without exactly one UserOperationEvent',
    ).toEqual([])
    expect(hashes.filter((h) => events.get(h)?.[0]?.success !== true)).toEqual([])
    // Claims at work, not only the EntryPoint's nonce check: every op is in exactly one bundle the
    // chain took, no bundle reverted, and bundles came from more than one process.
    const head = await chain.client.getBlockNumber({ cacheTime: 0 })
    const txs = await minedTxsFrom(chain.client, signerAddresses, fromBlock, head)
    const bundlesOf = new Map<Hash, number>()
    for (const t of txs) {
      for (const h of opHashesInBundle(t.input, entryPoint(), chain.chainId, VERSION)) {
        bundlesOf.set(h, (bundlesOf.get(h) ?? 0) + 1)
      }
      expect((await chain.client.getTransactionReceipt({ hash: t.hash })).status, `bundle ${t.hash}`).toBe(
        'success',
      )
    }
    expect(
      hashes.filter((h) => bundlesOf.get(h) !== 1),
      'ops not in exactly one mined bundle',
    ).toEqual([])
    const bundlers = new Set(txs.map((t) => t.from.toLowerCase()))
    expect(bundlers.size).toBeGreaterThan(1)
    const builderOnly = c.signers.map((a) => a.toLowerCase())
    expect(
      builderOnly.some((a) => bundlers.has(a)),
      'the builder-only process bundled',
    ).toBe(true)

    // Every receipt from the surviving RPC process (pooled receipts in Redis, or the log lookup).
    const missing: Hash[] = []
    for (const h of hashes) {
      const r = await jsonRpc<{ receipt: { transactionHash: Hash } } | null>(
        a.rpcUrl as string,
        'eth_getUserOperationReceipt',
        [h],
      )
      if (r?.receipt.transactionHash !== events.get(h)?.[0]?.txHash) missing.push(h)
    }
    expect(missing).toEqual([])
    expect(a.run.child.exitCode).toBeNull()
    expect(c.run.child.exitCode).toBeNull()
    await Promise.all([stopConveyor(a.run), stopConveyor(c.run)])
  }, 420_000)

  it('every process stopped while ops are pooled; started again → all mined once', async () => {
    // Only an RPC process first: ops are admitted into Redis and nobody bundles them.
    const rpcOnly = await start('rpc')
    const fromBlock = (await chain.client.getBlockNumber({ cacheTime: 0 })) + 1n
    const built = await buildFreshOps(chain, VERSION, 30, 16)
    await sendOps(rpcOnly.rpcUrl as string, entryPoint(), built, 8)
    // An RPC-only process serves its own metrics and health on the admin port, and no senders.
    const admin = rpcOnly.adminUrl as string
    const metrics = await (await fetch(`${admin}/metrics`)).text()
    expect(metrics).toMatch(/conveyor_pool_admissions_total\{[^}]*outcome="admitted"[^}]*\} 30\b/)
    expect((await fetch(`${admin}/health`)).status).toBe(200)
    const status = (await (await fetch(`${admin}/status.json`)).json()) as { senders: unknown[] }
    expect(status.senders).toEqual([])
    await stopConveyor(rpcOnly.run)
    const pooled = await userOpEvents(
      chain.client,
      entryPoint(),
      fromBlock,
      await chain.client.getBlockNumber(),
    )
    expect(built.filter((b) => pooled.has(b.hash.toLowerCase() as Hash))).toEqual([])

    const [node, builder] = await Promise.all([start('node'), start('builder')])
    const { hashes, events } = await minedOnce(built, fromBlock, 120_000)
    expect(hashes.filter((h) => events.get(h)?.length !== 1)).toEqual([])
    await Promise.all([stopConveyor(node.run), stopConveyor(builder.run)])
  }, 240_000)

  it('Redis down: eth_sendUserOperation answers a JSON-RPC error promptly, and works again once Redis is back', async () => {
    const node = await start('node')
    const [op] = await buildFreshOps(chain, VERSION, 2, 2)
    await redis.stop()
    const t0 = Date.now()
    const res = await fetch(node.rpcUrl as string, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'eth_sendUserOperation',
        params: [encodeUserOp((op as BuiltOp).op), entryPoint()],
      }),
    })
    expect(res.status).toBe(200)
    const body = (await res.json()) as { error?: { code: number; message: string } }
    expect(body.error?.code).toBe(-32603)
    expect(body.error?.message).toMatch(/Redis/)
    expect(Date.now() - t0).toBeLessThan(10_000)
    await redis.restart()
    await waitFor(
      async () => {
        const r = await fetch(node.rpcUrl as string, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            jsonrpc: '2.0',
            id: 2,
            method: 'eth_sendUserOperation',
            params: [encodeUserOp((op as BuiltOp).op), entryPoint()],
          }),
        })
        return ((await r.json()) as { result?: string }).result?.toLowerCase() === op?.hash.toLowerCase()
      },
      'admission after Redis is back',
      { timeoutMs: 20_000, intervalMs: 250 },
    )
    await stopConveyor(node.run)
  }, 120_000)
})
