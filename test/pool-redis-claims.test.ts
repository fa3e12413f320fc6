import { Redis } from 'ioredis'
import { type Address, getAddress, pad, toHex } from 'viem'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { RedisClaims } from '../src/pool/redis/claims.js'
import type { PoolOp } from '../src/pool/types.js'
import { type RedisNode, startRedis } from './support/redis.js'

// Claims on op senders between processes (each RedisClaims stands for one process: its own
// connection, token and heartbeat), against a real redis-server.
let redis: RedisNode
const cleanups: (() => Promise<void>)[] = []
beforeAll(async () => {
  redis = await startRedis()
})
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})
afterAll(async () => {
  await redis?.stop()
})

const EP: Address = getAddress(pad('0x4337', { size: 20 }))
const addr = (n: number): Address => getAddress(pad(toHex(n), { size: 20 }))
const opOf = (sender: Address) => ({ hash: pad(sender, { size: 32 }), op: { sender } }) as unknown as PoolOp
const senders = (ops: PoolOp[]) => ops.map((o) => o.op.sender)
let prefixes = 0

function processClaims(url: string, prefix: string, ttlMillis = 30_000) {
  const conn = new Redis(url, { maxRetriesPerRequest: 1, commandTimeout: 500, retryStrategy: () => 100 })
  conn.on('error', () => undefined)
  const claims = new RedisClaims({ redis: conn, prefixOf: () => prefix, ttlMillis })
  cleanups.push(async () => {
    await claims.close().catch(() => undefined)
    conn.disconnect()
  })
  return { claims, conn }
}

describe('sender claims across processes', () => {
  it('a sender claimed by one process is not given to another until released', async () => {
    const prefix = `claims${prefixes++}:{ep:x}`
    const a = processClaims(redis.url, prefix).claims
    const b = processClaims(redis.url, prefix).claims
    const signerA = addr(0xa)
    const signerB = addr(0xb)
    const ops = [addr(1), addr(2), addr(3)].map(opOf)
    expect(senders(await a.claim(signerA, EP, ops.slice(0, 2)))).toEqual([addr(1), addr(2)])
    // The same process claiming again keeps them (a replacement re-proposes the same senders).
    expect(senders(await a.claim(signerA, EP, ops.slice(0, 2)))).toEqual([addr(1), addr(2)])
    expect(senders(await b.claim(signerB, EP, ops))).toEqual([addr(3)])
    // Two signers of one process are two owners as well.
    expect(senders(await a.claim(addr(0xc), EP, ops))).toEqual([])

    await a.retain(signerA, [{ entryPoint: EP, sender: addr(1) }])
    expect(senders(await b.claim(signerB, EP, ops))).toEqual([addr(2), addr(3)])
    await a.retain(signerA, [])
    expect(senders(await b.claim(signerB, EP, ops))).toEqual([addr(1), addr(2), addr(3)])
  })

  it("a dead process's claims expire with their TTL; the heartbeat keeps a live one's", async () => {
    const prefix = `claims${prefixes++}:{ep:x}`
    const live = processClaims(redis.url, prefix, 300).claims
    const dying = processClaims(redis.url, prefix, 300)
    const other = processClaims(redis.url, prefix, 300).claims
    await live.claim(addr(0xa), EP, [opOf(addr(1))])
    await dying.claims.claim(addr(0xd), EP, [opOf(addr(2))])
    dying.conn.disconnect() // SIGKILL of that process: no release, no more heartbeats
    expect(senders(await other.claim(addr(0xb), EP, [addr(1), addr(2)].map(opOf)))).toEqual([])
    await new Promise((r) => setTimeout(r, 700)) // > TTL, several heartbeats of the live one
    expect(senders(await other.claim(addr(0xb), EP, [addr(1), addr(2)].map(opOf)))).toEqual([addr(2)])
  })

  it('fails closed: while renewals fail nothing is claimed, and claiming resumes when Redis is back', async () => {
    const own = await startRedis()
    cleanups.push(() => own.stop())
    const prefix = `claims${prefixes++}:{ep:x}`
    const { claims } = processClaims(own.url, prefix, 300)
    await claims.claim(addr(0xa), EP, [opOf(addr(1))])
    await own.stop()
    await new Promise((r) => setTimeout(r, 400)) // past 2/3 of the TTL without a renewal
    const err = await claims.claim(addr(0xa), EP, [opOf(addr(1))]).catch((e: unknown) => e)
    expect(String(err)).toMatch(/not being renewed/)
    await own.restart()
    const deadline = Date.now() + 5_000
    let got: PoolOp[] = []
    while (Date.now() < deadline && got.length === 0) {
      got = await claims.claim(addr(0xa), EP, [opOf(addr(1))]).catch(() => [])
      await new Promise((r) => setTimeout(r, 50))
    }
    expect(senders(got)).toEqual([addr(1)])
  })
})
