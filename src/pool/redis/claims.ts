import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { Address } from 'viem'
import type { ClaimedSender, OpClaims } from '../../builder/claims.js'
import { errorMessage } from '../../util/errors.js'
import { type Logger, silentLogger } from '../../util/log.js'
import type { PoolOp } from '../types.js'
import { CLAIM, RELEASE, RENEW } from './lua-claims.js'

type Script = (prefix: string, owner: string, ttl: number, ...senders: string[]) => Promise<number[]>
type ClaimRedis = Redis & { conveyorClaim: Script; conveyorClaimRenew: Script; conveyorClaimRelease: Script }

export interface RedisClaimsOptions {
  redis: Redis
  /** EntryPoint → its pool's key prefix (claims live in the pool's slot). */
  prefixOf: (entryPoint: Address) => string
  ttlMillis?: number
  logger?: Logger
  now?: () => number
}

/**
 * Sender claims in Redis, owned by `<process token>:<signer>`: a process that dies loses its claims
 * when their TTL runs out, and never gets them back (a new process has a new token). A heartbeat
 * renews every claim held each ttl/3; fail closed: once no renewal has succeeded for 2/3 of the TTL
 * (Redis unreachable), nothing is claimed until one does, so this process never bundles an op whose
 * claim may have passed to another.
 */
export class RedisClaims implements OpClaims {
  private readonly redis: ClaimRedis
  private readonly token = randomUUID()
  private readonly ttl: number
  private readonly log: Logger
  private readonly now: () => number
  /** owner → prefix → senders held. */
  private readonly held = new Map<string, Map<string, Set<string>>>()
  private lastRenewed: number
  private readonly timer: NodeJS.Timeout

  constructor(private readonly o: RedisClaimsOptions) {
    this.ttl = o.ttlMillis ?? 30_000
    this.log = o.logger ?? silentLogger
    this.now = o.now ?? Date.now
    this.lastRenewed = this.now()
    for (const [name, lua] of [
      ['conveyorClaim', CLAIM],
      ['conveyorClaimRenew', RENEW],
      ['conveyorClaimRelease', RELEASE],
    ] as const) {
      if (!(name in o.redis)) o.redis.defineCommand(name, { numberOfKeys: 1, lua })
    }
    this.redis = o.redis as ClaimRedis
    this.timer = setInterval(() => void this.heartbeat(), Math.max(50, Math.floor(this.ttl / 3)))
    this.timer.unref()
  }

  /** False while renewals fail: claims may be expiring. */
  isLive(): boolean {
    return this.now() - this.lastRenewed < Math.floor((this.ttl * 2) / 3)
  }

  async claim(owner: Address, entryPoint: Address, ops: PoolOp[]): Promise<PoolOp[]> {
    if (ops.length === 0) return ops
    if (!this.isLive())
      throw new Error('sender claims are not being renewed (Redis unreachable); not bundling')
    const prefix = this.o.prefixOf(entryPoint)
    const senders = [...new Set(ops.map((o) => o.op.sender.toLowerCase()))]
    const got = await this.redis.conveyorClaim(prefix, this.ownerKey(owner), this.ttl, ...senders)
    const mine = new Set(senders.filter((_, i) => got[i] === 1))
    const set = this.setOf(owner, prefix)
    for (const s of mine) set.add(s)
    return ops.filter((o) => mine.has(o.op.sender.toLowerCase()))
  }

  async retain(owner: Address, keep: ClaimedSender[]): Promise<void> {
    const byPrefix = this.held.get(owner.toLowerCase())
    if (!byPrefix) return
    const kept = new Set(keep.map((k) => `${this.o.prefixOf(k.entryPoint)}|${k.sender.toLowerCase()}`))
    for (const [prefix, set] of byPrefix) {
      const release = [...set].filter((s) => !kept.has(`${prefix}|${s}`))
      if (release.length === 0) continue
      for (const s of release) set.delete(s)
      await this.redis.conveyorClaimRelease(prefix, this.ownerKey(owner), this.ttl, ...release)
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer)
    for (const owner of [...this.held.keys()]) {
      await this.retain(owner as Address, []).catch(() => undefined)
    }
  }

  /** Renews every claim held; a claim found lost is forgotten. */
  async heartbeat(): Promise<void> {
    try {
      for (const [owner, byPrefix] of this.held) {
        for (const [prefix, set] of byPrefix) {
          const senders = [...set]
          if (senders.length === 0) continue
          const ok = await this.redis.conveyorClaimRenew(
            prefix,
            `${this.token}:${owner}`,
            this.ttl,
            ...senders,
          )
          senders.forEach((s, i) => {
            if (ok[i] !== 1) {
              set.delete(s)
              this.log.warn({ sender: s, owner }, 'claim on an op sender was lost')
            }
          })
        }
      }
      this.lastRenewed = this.now()
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'renewing sender claims failed')
    }
  }

  private ownerKey(owner: Address): string {
    return `${this.token}:${owner.toLowerCase()}`
  }

  private setOf(owner: Address, prefix: string): Set<string> {
    const o = owner.toLowerCase()
    let byPrefix = this.held.get(o)
    if (!byPrefix) {
      byPrefix = new Map()
      this.held.set(o, byPrefix)
    }
    let set = byPrefix.get(prefix)
    if (!set) {
      set = new Set()
      byPrefix.set(prefix, set)
    }
    return set
  }
}
