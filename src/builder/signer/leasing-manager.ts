import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import type { Registry } from 'prom-client'
import type { Logger } from '../../util/log.js'
import { NoFreeKeyError } from './errors.js'
import { createLeaseMetrics, type LeaseMetrics } from './lease-metrics.js'
import { RedisLease } from './redis-lease.js'
import { type LockStore, lockName } from './redis-lock.js'
import type { AcquireOptions, Signer, SignerLease, SignerManager } from './types.js'

export interface LeasingManagerParams {
  chainId: number
  /** The configured key ids, in order, each with its (pre-validated) signer. */
  keys: readonly { keyId: string; signer: Signer }[]
  store: LockStore
  ttlMillis: number
  leaseWaitMillis: number
  numSigners: number
  logger: Logger
  /** Pause between rounds over the key list while no key is free (default min(1000, ttl/4)). */
  retryIntervalMillis?: number
  /** Log the "waiting" line at most this often (default 10 000). */
  waitLogIntervalMillis?: number
  /** Lease gauges and counters go here when given. */
  registry?: Registry
  /** Runs last in close() (e.g. destroy the KMS client). */
  onClose?: () => void
}

/** Order in which a sender tries the keys: its own index first, so senders spread over the list. */
export function keyOrder(senderIndex: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => (senderIndex + i) % count)
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(t)
      reject(signal?.reason)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * Leases one key of the list per sender through Redis locks `{chainId}:{keyId}`, so no two senders
 * in any process sharing the Redis use one key (and collide on its nonces).
 */
export class LeasingSignerManager implements SignerManager {
  readonly numSigners: number
  private readonly active = new Map<number, RedisLease>()
  /** Locks whose lease was dropped with the connection: released (by token) once Redis is back. */
  private readonly orphans = new Map<string, string>()
  private readonly unsubscribe: (() => void)[] = []
  private closed = false
  /** Aborted by close(): waiting acquisitions end at once. */
  private readonly closing = new AbortController()
  private readonly metrics: LeaseMetrics

  constructor(private readonly p: LeasingManagerParams) {
    this.numSigners = p.numSigners
    this.metrics = createLeaseMetrics(p.registry)
    this.unsubscribe.push(
      p.store.onConnectionLost((reason) => {
        for (const lease of [...this.active.values()]) {
          this.orphans.set(lease.lockName, lease.token)
          lease.lose(reason)
        }
      }),
      p.store.onReady(() => void this.releaseOrphans()),
    )
  }

  addresses() {
    return this.p.keys.map((k) => k.signer.address)
  }

  async acquire(senderIndex: number, opts: AcquireOptions = {}): Promise<SignerLease> {
    if (this.closed) throw new Error('signer manager is closed')
    if (!Number.isInteger(senderIndex) || senderIndex < 0 || senderIndex >= this.numSigners) {
      throw new RangeError(`sender index ${senderIndex} is outside 0..${this.numSigners - 1}`)
    }
    const held = this.active.get(senderIndex)
    if (held?.isValid()) return held
    const { logger } = this.p
    const started = Date.now()
    const waitMillis = opts.waitMillis ?? this.p.leaseWaitMillis
    const retry = this.p.retryIntervalMillis ?? Math.max(50, Math.min(1000, Math.floor(this.p.ttlMillis / 4)))
    const logEvery = this.p.waitLogIntervalMillis ?? 10_000
    let lastLog = Number.NEGATIVE_INFINITY
    let lastError: string | undefined
    for (let round = 0; ; round++) {
      const localKeys = new Set([...this.active.values()].map((l) => l.keyId))
      lastError = undefined
      for (const i of keyOrder(senderIndex, this.p.keys.length)) {
        const entry = this.p.keys[i]
        if (!entry || localKeys.has(entry.keyId)) continue
        const lease = await this.tryKey(senderIndex, entry).catch((err: Error) => {
          lastError = err.message
          return undefined
        })
        if (lease) return lease
        if (lastError) break // Redis is unreachable: no point trying the other keys this round
      }
      if (this.closed) throw new Error('signer manager is closed')
      const waited = Date.now() - started
      const detail = lastError
        ? `redis unreachable: ${lastError}`
        : `all ${this.p.keys.length} keys are leased`
      if (waited >= waitMillis) {
        this.metrics.waitTimedOut()
        throw new NoFreeKeyError(senderIndex, waited, detail)
      }
      if (Date.now() - lastLog >= logEvery) {
        lastLog = Date.now()
        logger.warn(
          {
            senderIndex,
            keyCount: this.p.keys.length,
            waitedMillis: waited,
            maxWaitMillis: waitMillis,
            round,
            detail,
          },
          'no free signer key: sender waits and retries (it never signs with an unleased key)',
        )
      }
      const signal = opts.signal ? AbortSignal.any([opts.signal, this.closing.signal]) : this.closing.signal
      await sleep(Math.min(retry, waitMillis - waited), signal)
    }
  }

  private async tryKey(
    senderIndex: number,
    entry: { keyId: string; signer: Signer },
  ): Promise<RedisLease | undefined> {
    const name = lockName(this.p.chainId, entry.keyId)
    const token = `${hostname()}:${process.pid}:${senderIndex}:${randomUUID()}`
    const sentAt = Date.now()
    if (!(await this.p.store.tryAcquire(name, token, this.p.ttlMillis))) return undefined
    if (this.closed) {
      await this.p.store.release(name, token).catch(() => {})
      throw new Error('signer manager is closed')
    }
    const lease = new RedisLease({
      senderIndex,
      keyId: entry.keyId,
      lockName: name,
      token,
      ttlMillis: this.p.ttlMillis,
      acquiredAt: sentAt,
      store: this.p.store,
      signer: entry.signer,
      logger: this.p.logger,
      onEnd: (l) => {
        if (this.active.get(l.senderIndex) === l) this.active.delete(l.senderIndex)
        this.metrics.held(l.senderIndex, l.keyId, false)
        this.metrics.ended(String(l.lost.reason))
      },
    })
    this.active.set(senderIndex, lease)
    this.metrics.held(senderIndex, entry.keyId, true)
    this.p.logger.info(
      {
        senderIndex,
        keyId: entry.keyId,
        address: entry.signer.address,
        lock: name,
        ttlMillis: this.p.ttlMillis,
      },
      'signer lease acquired',
    )
    return lease
  }

  private async releaseOrphans(): Promise<void> {
    for (const [name, token] of [...this.orphans]) {
      try {
        await this.p.store.release(name, token)
        this.orphans.delete(name)
      } catch {
        // still down; the TTL frees it in any case
      }
    }
  }

  release(lease: SignerLease): Promise<void> {
    return lease.release()
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.closing.abort(new Error('signer manager is closed'))
    await Promise.all([...this.active.values()].map((l) => l.release()))
    await this.releaseOrphans()
    for (const u of this.unsubscribe) u()
    await this.p.store.close()
    this.p.onClose?.()
  }
}
