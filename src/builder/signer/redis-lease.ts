import type { Logger } from '../../util/log.js'
import { LeasedSigner } from './leased-signer.js'
import type { LockStore } from './redis-lock.js'
import type { Signer, SignerLease } from './types.js'

export interface RedisLeaseParams {
  senderIndex: number
  keyId: string
  lockName: string
  token: string
  ttlMillis: number
  /** When the SET that took the lock was sent: the lock expires no earlier than this + ttl. */
  acquiredAt: number
  store: LockStore
  signer: Signer
  logger: Logger
  onEnd: (lease: RedisLease) => void
  now?: () => number
}

/**
 * A Redis-backed lease: renewed every ttl/3 by check-and-extend; lost on the first failed renewal,
 * on a dropped connection, or when the local deadline passes without a confirmed renewal.
 */
export class RedisLease implements SignerLease {
  readonly senderIndex: number
  readonly keyId: string
  readonly lockName: string
  readonly token: string
  readonly signer: Signer
  private readonly controller = new AbortController()
  private readonly now: () => number
  private expiresAt: number
  private timer: NodeJS.Timeout | undefined
  private releasing: Promise<void> | undefined

  constructor(private readonly p: RedisLeaseParams) {
    this.senderIndex = p.senderIndex
    this.keyId = p.keyId
    this.lockName = p.lockName
    this.token = p.token
    this.now = p.now ?? Date.now
    this.expiresAt = p.acquiredAt + p.ttlMillis
    this.signer = new LeasedSigner(p.signer, this)
    this.schedule()
  }

  get lost(): AbortSignal {
    return this.controller.signal
  }

  get renewIntervalMillis(): number {
    return Math.max(50, Math.floor(this.p.ttlMillis / 3))
  }

  /** Keep a safety margin before the Redis-side expiry: clocks and in-flight sign calls. */
  isValid(): boolean {
    return !this.controller.signal.aborted && this.now() < this.expiresAt - Math.floor(this.p.ttlMillis / 10)
  }

  invalidReason(): string {
    if (this.controller.signal.aborted) return String(this.controller.signal.reason ?? 'lost')
    return 'lease expired without a confirmed renewal'
  }

  /** Fail closed: from now on the signer refuses, and the sender must acquire a fresh lease. */
  lose(reason: string): void {
    if (this.controller.signal.aborted) return
    clearTimeout(this.timer)
    this.timer = undefined
    this.controller.abort(reason)
    if (reason !== 'released') {
      this.p.logger.warn(
        { senderIndex: this.senderIndex, keyId: this.keyId, address: this.signer.address, reason },
        'signer lease lost: sender stops signing until it holds a fresh lease',
      )
    }
    this.p.onEnd(this)
  }

  release(): Promise<void> {
    this.releasing ??= this.doRelease()
    return this.releasing
  }

  private async doRelease(): Promise<void> {
    this.lose('released')
    // Check-and-delete even if already lost: it only ever removes our own token.
    try {
      await this.p.store.release(this.lockName, this.token)
      this.p.logger.info({ senderIndex: this.senderIndex, keyId: this.keyId }, 'signer lease released')
    } catch (err) {
      // The TTL frees it anyway.
      this.p.logger.warn(
        { senderIndex: this.senderIndex, keyId: this.keyId, err: (err as Error).message },
        'signer lease release failed; the lock expires after its TTL',
      )
    }
  }

  private schedule(): void {
    this.timer = setTimeout(() => void this.renew(), this.renewIntervalMillis)
    this.timer.unref()
  }

  private async renew(): Promise<void> {
    if (this.controller.signal.aborted) return
    const sentAt = this.now()
    let ok: boolean
    try {
      ok = await this.p.store.renew(this.lockName, this.token, this.p.ttlMillis)
    } catch (err) {
      this.lose(`renewal failed: ${(err as Error).message}`)
      return
    }
    if (this.controller.signal.aborted) return
    if (!ok) {
      this.lose('renewal found the lock expired or held by another token')
      return
    }
    this.expiresAt = sentAt + this.p.ttlMillis
    this.schedule()
  }
}
