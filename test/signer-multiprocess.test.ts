import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { createPublicClient, createTestClient, type Hash, http, parseEther } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AnvilNode, startAnvil } from '../src/dev/anvil.js'
import { type KmsTestServer, startKmsServer } from './support/kms-server.js'
import { type RedisNode, startRedis } from './support/redis.js'

process.env.AWS_ACCESS_KEY_ID = 'AKIDCONVEYORTEST'
process.env.AWS_SECRET_ACCESS_KEY = 'conveyor-test-secret'
process.env.AWS_EC2_METADATA_DISABLED = 'true'

const TTL = 1500
const RENEW = TTL / 3
const WORKER = fileURLToPath(new URL('./fixtures/signer-lease-worker.ts', import.meta.url))

type Line = { proc: string; t: number; event?: string; msg?: string; [k: string]: unknown }

let anvil: AnvilNode
let redis: RedisNode
let kms: KmsTestServer
const workers: ChildProcess[] = []

beforeAll(async () => {
  ;[anvil, redis, kms] = await Promise.all([startAnvil(), startRedis(), startKmsServer()])
})
afterAll(async () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL')
  await Promise.all([anvil?.stop(), redis?.stop(), kms?.stop()])
})

function startWorker(name: string, keyIds: string[], lines: Line[]): ChildProcess {
  const cfg = {
    name,
    redisUri: redis.url,
    kmsEndpoint: kms.url,
    keyIds,
    rpcUrl: anvil.url,
    chainId: anvil.chainId,
    ttlMillis: TTL,
    numSigners: 2,
  }
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(cfg)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: process.env,
  })
  workers.push(child)
  let buf = ''
  child.stdout?.on('data', (d: Buffer) => {
    buf += d.toString()
    let i = buf.indexOf('\n')
    while (i >= 0) {
      const line = buf.slice(0, i)
      buf = buf.slice(i + 1)
      try {
        const parsed = JSON.parse(line) as Line
        lines.push({ ...parsed, t: parsed.t ?? parsed.time })
      } catch {
        // not ours
      }
      i = buf.indexOf('\n')
    }
  })
  let err = ''
  child.stderr?.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-4000)
  })
  child.once('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGKILL')
      lines.push({ proc: name, t: Date.now(), event: 'crashed', stderr: err })
  })
  return child
}

async function until<T>(what: string, f: () => T | undefined | false, timeoutMs: number): Promise<T> {
  const t0 = Date.now()
  while (Date.now() - t0 < timeoutMs) {
    const v = f()
    if (v) return v
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error(`timed out waiting for ${what}`)
}

/** Watches the lock keys directly in Redis (SCAN + GET) until stopped. */
function watchRedis(url: string, chainId: number) {
  const snapshots: { t: number; locks: Map<string, string> }[] = []
  const client = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => 100,
  })
  client.on('error', () => {})
  let running = true
  const loop = (async () => {
    await client.connect().catch(() => {})
    for (let i = 0; running && i < 10_000; i++) {
      try {
        const locks = new Map<string, string>()
        let cursor = '0'
        do {
          const [next, names] = await client.scan(cursor, 'MATCH', `${chainId}:*`, 'COUNT', 100)
          cursor = next
          for (const n of names) {
            const v = await client.get(n)
            if (v) locks.set(n, v)
          }
        } while (cursor !== '0')
        snapshots.push({ t: Date.now(), locks })
      } catch {
        // Redis is down in that phase of the test
      }
      await new Promise((r) => setTimeout(r, 40))
    }
  })()
  return {
    snapshots,
    async stop() {
      running = false
      await loop
      client.disconnect()
    },
  }
}

describe('two bundler processes share three KMS keys through one Redis', () => {
  it('never double-leases a key, recovers after kill -9 and a Redis outage, with no nonce collision on chain', async () => {
    const keys = [kms.addKey(), kms.addKey(), kms.addKey()]
    const keyIds = keys.map((k) => k.keyId)
    const test = createTestClient({ mode: 'anvil', transport: http(anvil.url) })
    for (const k of keys) await test.setBalance({ address: k.address, value: parseEther('10') })
    const watcher = watchRedis(redis.url, anvil.chainId)
    const lines: Line[] = []
    const ev = (proc: string, event: string) => lines.filter((l) => l.proc === proc && l.event === event)

    try {
      // Process A takes two keys.
      const a = startWorker('A', keyIds, lines)
      await until('A holds 2 leases', () => ev('A', 'acquired').length >= 2, 30_000)
      // Process B takes the third; its second sender waits, saying so.
      startWorker('B', keyIds, lines)
      await until('B holds 1 lease', () => ev('B', 'acquired').length >= 1, 30_000)
      const waitLine = await until(
        'B logs that a sender waits',
        () => lines.find((l) => l.proc === 'B' && /no free signer key: sender waits/.test(l.msg ?? '')),
        10_000,
      )
      expect(waitLine.senderIndex).toBeDefined()
      await until(
        'all three keys send',
        () => new Set(lines.filter((l) => l.event === 'sent').map((l) => l.keyId)).size === 3,
        15_000,
      )
      await new Promise((r) => setTimeout(r, 1000))
      expect(ev('B', 'acquired')).toHaveLength(1)

      // kill -9 A: its keys free up after the TTL, and B's waiting sender takes one.
      const aTokens = new Set(ev('A', 'acquired').map((l) => l.token as string))
      const killedAt = Date.now()
      a.kill('SIGKILL')
      const taken = await until('B takes a key of A', () => ev('B', 'acquired')[1], TTL * 4)
      expect(aTokens.has(taken.token as string)).toBe(false)
      expect(ev('A', 'acquired').map((l) => l.keyId)).toContain(taken.keyId)
      // A's last renewal was at most one renewal period before the kill, so the lock lived ≥ 2/3 TTL on.
      expect(taken.t - killedAt).toBeGreaterThanOrEqual(TTL - RENEW - 150)
      expect(taken.t - killedAt).toBeLessThan(TTL + 1500)
      await until(
        'no lock holds a token of A',
        () => {
          const last = watcher.snapshots.at(-1)
          return last && last.t > killedAt + TTL && ![...last.locks.values()].some((v) => aTokens.has(v))
        },
        TTL * 3,
      )

      // Process C joins: one key is free, so again one sender waits; both processes share the list.
      startWorker('C', keyIds, lines)
      await until('C holds 1 lease', () => ev('C', 'acquired').length >= 1, 30_000)
      await new Promise((r) => setTimeout(r, 1000))

      // Redis stopped: every leased sender stops signing within one renewal period.
      const heldBefore = lines.filter((l) => l.event === 'acquired').length
      const stoppedAt = Date.now()
      await redis.stop()
      const lostWaitStart = Date.now()
      await until(
        'every live lease lost',
        () => {
          const live = lines.filter((l) => l.event === 'acquired' && l.proc !== 'A')
          return live.every((acq) => lines.some((l) => l.event === 'lost' && l.token === acq.token))
        },
        RENEW + 1000,
      )
      const lostEvents = lines.filter((l) => l.event === 'lost' && l.t >= stoppedAt)
      expect(lostEvents.length).toBe(3)
      for (const l of lostEvents) expect(l.t - stoppedAt).toBeLessThanOrEqual(RENEW + 300)
      expect(Date.now() - lostWaitStart).toBeLessThan(RENEW + 1000)
      await new Promise((r) => setTimeout(r, TTL))
      const lostAt = new Map(lostEvents.map((l) => [l.token as string, l.t]))
      const signedWhileLost = lines.filter(
        (l) =>
          l.event === 'sent' &&
          lostAt.has(l.token as string) &&
          (l.signedAt as number) > (lostAt.get(l.token as string) as number),
      )
      expect(signedWhileLost).toEqual([])
      const sentDuringOutage = lines.filter(
        (l) => l.event === 'sent' && (l.signedAt as number) > stoppedAt + RENEW + 300,
      )
      expect(sentDuringOutage).toEqual([])

      // Redis back (empty): leasing resumes, keys possibly change hands between B and C.
      const restartedAt = Date.now()
      await redis.restart()
      await until(
        'three fresh leases',
        () => lines.filter((l) => l.event === 'acquired').length >= heldBefore + 3,
        15_000,
      )
      await until(
        'sending resumed on three keys',
        () =>
          new Set(lines.filter((l) => l.event === 'sent' && l.t > restartedAt).map((l) => l.keyId)).size ===
          3,
        15_000,
      )
      await new Promise((r) => setTimeout(r, 1000))
    } finally {
      // Graceful stop of the survivors: closing stdin makes them release their leases.
      for (const w of workers) w.stdin?.end()
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve) => {
              if (w.exitCode !== null || w.signalCode !== null) return resolve()
              const t = setTimeout(() => {
                w.kill('SIGKILL')
                resolve()
              }, 5000)
              w.once('exit', () => {
                clearTimeout(t)
                resolve()
              })
            }),
        ),
      )
      await watcher.stop()
    }

    expect(lines.filter((l) => l.event === 'crashed')).toEqual([])
    expect(
      lines
        .filter((l) => l.event === 'closed')
        .map((l) => l.proc)
        .sort(),
    ).toEqual(['B', 'C'])

    // Redis, as watched: never more than three holders, never one holder on two keys.
    expect(watcher.snapshots.length).toBeGreaterThan(50)
    const acquired = lines.filter((l) => l.event === 'acquired')
    const holderOf = new Map(acquired.map((l) => [l.token as string, `${l.proc}/${l.sender}`]))
    for (const snap of watcher.snapshots) {
      expect(snap.locks.size).toBeLessThanOrEqual(3)
      const holders = [...snap.locks.values()].map((tok) => holderOf.get(tok) ?? `unknown:${tok}`)
      expect(new Set(holders).size).toBe(holders.length)
    }
    // Every token ever seen in Redis belongs to an announced lease.
    const seen = new Set(watcher.snapshots.flatMap((s) => [...s.locks.values()]))
    for (const tok of seen) expect(holderOf.has(tok)).toBe(true)
    // By the leases' own account, a key is held by one sender at a time.
    for (const keyId of keyIds) {
      const spans = acquired
        .filter((l) => l.keyId === keyId)
        .map((l) => ({
          start: l.t,
          end:
            lines.find((x) => x.event === 'lost' && x.token === l.token)?.t ??
            (l.proc === 'A' ? Number.NaN : Number.POSITIVE_INFINITY),
          tok: l.token,
        }))
        .sort((x, y) => x.start - y.start)
      for (let i = 1; i < spans.length; i++) {
        const prev = spans[i - 1] as { end: number }
        // A's spans end at the kill (no event): the next holder came after the TTL, checked above.
        if (!Number.isNaN(prev.end))
          expect((spans[i] as { start: number }).start).toBeGreaterThanOrEqual(prev.end)
      }
    }

    // The chain: every signed transaction mined, each (address, nonce) used exactly once, no nonce errors.
    const sent = lines.filter((l) => l.event === 'sent')
    expect(sent.length).toBeGreaterThan(20)
    const errors = lines.filter((l) => l.event === 'error')
    expect(errors.filter((e) => /nonce|underpriced|already/i.test(String(e.message)))).toEqual([])
    const pub = createPublicClient({ transport: http(anvil.url) })
    const byAddress = new Map<string, number[]>()
    for (const s of sent) {
      const list = byAddress.get(s.address as string) ?? []
      list.push(s.nonce as number)
      byAddress.set(s.address as string, list)
    }
    for (const [address, nonces] of byAddress) {
      expect(new Set(nonces).size).toBe(nonces.length)
      const onChain = await pub.getTransactionCount({ address: address as `0x${string}` })
      expect(onChain).toBe(Math.max(...nonces) + 1)
    }
    for (const s of sent.slice(-10)) {
      const r = await pub.getTransactionReceipt({ hash: s.hash as Hash })
      expect(r.status).toBe('success')
    }
    // No secret ever printed by a worker.
    expect(JSON.stringify(lines)).not.toContain('conveyor-test-secret')
  }, 120_000)
})
