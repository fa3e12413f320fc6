import { Redis } from 'ioredis'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { generatePrivateKey } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LeaseLostError, NoFreeKeyError } from '../src/builder/signer/errors.js'
import { LeasingSignerManager } from '../src/builder/signer/leasing-manager.js'
import { privateKeySigners } from '../src/builder/signer/local.js'
import { RedisLockStore } from '../src/builder/signer/redis-lock.js'
import type { SignerLease } from '../src/builder/signer/types.js'
import { type RedisNode, startRedis } from './support/redis.js'

const CHAIN_ID = 31337
const TTL = 1500
let redis: RedisNode
let probe: Redis

beforeAll(async () => {
  redis = await startRedis()
  probe = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 100 })
  probe.on('error', () => {})
  await probe.connect()
})
afterAll(async () => {
  probe?.disconnect()
  await redis?.stop()
})

function capture() {
  const lines: { msg: string; [k: string]: unknown }[] = []
  const logger = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s)) })
  return { logger, lines }
}

const keys = privateKeySigners([generatePrivateKey(), generatePrivateKey(), generatePrivateKey()], {
  eip7702: false,
}).map((signer, i) => ({ keyId: `kms-key-${i}`, signer }))

function manager(numSigners: number, opts: { leaseWaitMillis?: number; prefix?: string } = {}) {
  const { logger, lines } = capture()
  const store = new RedisLockStore(redis.url, { commandTimeoutMillis: 250, logger })
  const registry = new Registry()
  const m = new LeasingSignerManager({
    chainId: CHAIN_ID,
    keys: keys.map((k) => ({ ...k, keyId: `${opts.prefix ?? ''}${k.keyId}` })),
    store,
    ttlMillis: TTL,
    leaseWaitMillis: opts.leaseWaitMillis ?? 1000,
    numSigners,
    logger,
    retryIntervalMillis: 100,
    waitLogIntervalMillis: 300,
    registry,
  })
  const ended = async (reason: string) =>
    (await registry.getMetricsAsJSON())
      .find((x) => x.name === 'conveyor_signer_lease_ended_total')
      ?.values.find((v) => v.labels.reason === reason)?.value ?? 0
  return { m, lines, ended }
}

const tx = {
  type: 'eip1559' as const,
  chainId: CHAIN_ID,
  nonce: 0,
  to: keys[0]?.signer.address,
  gas: 21_000n,
  maxFeePerGas: 2n,
  maxPriorityFeePerGas: 1n,
}

async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<number> {
  const t0 = Date.now()
  while (Date.now() - t0 < timeoutMs) {
    if (await cond()) return Date.now() - t0
    await new Promise((r) => setTimeout(r, 20))
  }
  throw new Error(`condition not met within ${timeoutMs} ms`)
}

describe('Redis key leasing (real redis-server)', () => {
  it('leases distinct keys as {chainId}:{keyId} with a unique token and the TTL; the 4th sender waits, then fails typed', async () => {
    const { m, lines } = manager(5, { prefix: 'a-' })
    try {
      const leases: SignerLease[] = []
      for (let i = 0; i < 3; i++) leases.push(await m.acquire(i))
      expect(new Set(leases.map((l) => l.keyId)).size).toBe(3)
      const names = (await probe.keys(`${CHAIN_ID}:a-*`)).sort()
      expect(names).toEqual(['31337:a-kms-key-0', '31337:a-kms-key-1', '31337:a-kms-key-2'])
      const tokens = await Promise.all(names.map((n) => probe.get(n)))
      expect(new Set(tokens).size).toBe(3)
      for (const n of names) {
        const pttl = await probe.pttl(n)
        expect(pttl).toBeGreaterThan(0)
        expect(pttl).toBeLessThanOrEqual(TTL)
      }
      const t0 = Date.now()
      const err = await m.acquire(3, { waitMillis: 700 }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(NoFreeKeyError)
      expect(Date.now() - t0).toBeGreaterThanOrEqual(650)
      expect(lines.some((l) => /no free signer key: sender waits/.test(l.msg) && l.senderIndex === 3)).toBe(
        true,
      )
      // A waiting sender gets a key as soon as one is released.
      const waiting = m.acquire(3, { waitMillis: 5000 })
      await new Promise((r) => setTimeout(r, 200))
      const freed = leases[1] as SignerLease
      await m.release(freed)
      const got = await waiting
      expect(got.keyId).toBe(freed.keyId)
      expect(freed.isValid()).toBe(false)
      await expect(freed.signer.signTransaction(tx)).rejects.toThrow(LeaseLostError)
      await expect(got.signer.signTransaction(tx)).resolves.toMatch(/^0x02/)
      // Shutdown ends a waiting acquisition at once.
      const pending = m.acquire(4, { waitMillis: 60_000 }).catch((e: unknown) => e)
      await new Promise((r) => setTimeout(r, 150))
      const closedAt = Date.now()
      await m.close()
      expect(await pending).toBeInstanceOf(Error)
      expect(Date.now() - closedAt).toBeLessThan(500)
    } finally {
      await m.close()
    }
    expect(await probe.keys(`${CHAIN_ID}:a-*`)).toEqual([])
  })

  it('renews well before expiry: the lease outlives several TTLs', async () => {
    const { m } = manager(1, { prefix: 'b-' })
    try {
      const lease = await m.acquire(0)
      const token = await probe.get(`${CHAIN_ID}:${lease.keyId}`)
      await new Promise((r) => setTimeout(r, TTL * 3))
      expect(lease.isValid()).toBe(true)
      expect(await probe.get(`${CHAIN_ID}:${lease.keyId}`)).toBe(token)
      expect(await probe.pttl(`${CHAIN_ID}:${lease.keyId}`)).toBeGreaterThan(TTL / 3)
    } finally {
      await m.close()
    }
  })

  it('fails closed when the lock now holds another token, and needs a fresh lease to sign again', async () => {
    const { m, lines, ended } = manager(1, { prefix: 'c-' })
    try {
      const lease = await m.acquire(0)
      await expect(lease.signer.signTransaction(tx)).resolves.toMatch(/^0x02/)
      const name = `${CHAIN_ID}:${lease.keyId}`
      await probe.set(name, 'someone-else', 'PX', 800)
      const took = await until(() => lease.lost.aborted, TTL)
      expect(took).toBeLessThanOrEqual(TTL / 3 + 200) // within one renewal period
      expect(lease.isValid()).toBe(false)
      const err = await lease.signer.signTransaction(tx).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(LeaseLostError)
      expect(lines.some((l) => /signer lease lost/.test(l.msg))).toBe(true)
      expect(await ended('lock_taken')).toBe(1)
      // Release of the lost lease must not delete the other holder's lock.
      await lease.release()
      expect(await probe.get(name)).toBe('someone-else')
      const fresh = await m.acquire(0, { waitMillis: 3000 })
      expect(fresh).not.toBe(lease)
      await expect(fresh.signer.signTransaction(tx)).resolves.toMatch(/^0x02/)
    } finally {
      await m.close()
    }
  })

  it('Redis stopped: every lease is lost within one renewal period; Redis back: leasing resumes', async () => {
    const { m, ended } = manager(3, { prefix: 'd-', leaseWaitMillis: 400 })
    try {
      const leases = await Promise.all([0, 1, 2].map((i) => m.acquire(i)))
      const stoppedAt = Date.now()
      await redis.stop()
      await until(() => leases.every((l) => l.lost.aborted), TTL / 3 + 500)
      expect(Date.now() - stoppedAt).toBeLessThanOrEqual(TTL / 3 + 500)
      for (const l of leases) await expect(l.signer.signTransaction(tx)).rejects.toThrow(LeaseLostError)
      expect(await ended('connection_lost')).toBe(3)
      // While Redis is down a sender waits, then fails typed, and never gets an unleased key.
      const err = await m.acquire(0).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(NoFreeKeyError)
      expect((err as Error).message).toMatch(/redis unreachable/)

      await redis.restart()
      await probe.ping().catch(() => {})
      const again = await Promise.all([0, 1, 2].map((i) => m.acquire(i, { waitMillis: 5000 })))
      expect(new Set(again.map((l) => l.keyId)).size).toBe(3)
      for (const l of again) await expect(l.signer.signTransaction(tx)).resolves.toMatch(/^0x02/)
    } finally {
      await m.close()
    }
  })

  it('a lock left by a dead holder becomes free after the TTL', async () => {
    const { m } = manager(1, { prefix: 'e-' })
    try {
      for (const k of keys) await probe.set(`${CHAIN_ID}:e-${k.keyId}`, 'dead-process', 'PX', TTL)
      const t0 = Date.now()
      const lease = await m.acquire(0, { waitMillis: TTL * 3 })
      const waited = Date.now() - t0
      expect(waited).toBeGreaterThanOrEqual(TTL - 300)
      expect(waited).toBeLessThan(TTL + 1500)
      expect(await probe.get(`${CHAIN_ID}:${lease.keyId}`)).not.toBe('dead-process')
    } finally {
      await m.close()
    }
  })
})
