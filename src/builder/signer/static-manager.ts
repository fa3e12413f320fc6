import { LeasedSigner } from './leased-signer.js'
import type { AcquireOptions, Signer, SignerLease, SignerManager } from './types.js'

class StaticLease implements SignerLease {
  readonly signer: Signer
  private readonly controller = new AbortController()

  constructor(
    readonly senderIndex: number,
    readonly keyId: string,
    inner: Signer,
    private readonly onEnd: (l: StaticLease) => void,
  ) {
    this.signer = new LeasedSigner(inner, this)
  }

  get lost(): AbortSignal {
    return this.controller.signal
  }

  isValid(): boolean {
    return !this.controller.signal.aborted
  }

  invalidReason(): string {
    return String(this.controller.signal.reason ?? 'released')
  }

  async release(): Promise<void> {
    if (this.controller.signal.aborted) return
    this.controller.abort('released')
    this.onEnd(this)
  }
}

/**
 * Fixed assignment, sender i ↔ key i: private keys, a mnemonic, or one KMS key with leasing off.
 * Nothing outside this process competes, so a lease ends only when released.
 */
export class StaticSignerManager implements SignerManager {
  private readonly active = new Map<number, StaticLease>()
  private closed = false

  constructor(
    private readonly signers: readonly { keyId: string; signer: Signer }[],
    readonly numSigners: number,
    private readonly onClose?: () => void,
  ) {
    if (signers.length < numSigners) throw new Error(`${signers.length} signers for ${numSigners} senders`)
  }

  addresses() {
    return this.signers.map((s) => s.signer.address)
  }

  async acquire(senderIndex: number, _opts?: AcquireOptions): Promise<SignerLease> {
    if (this.closed) throw new Error('signer manager is closed')
    const entry = this.signers[senderIndex]
    if (!Number.isInteger(senderIndex) || senderIndex >= this.numSigners || !entry) {
      throw new RangeError(`sender index ${senderIndex} is outside 0..${this.numSigners - 1}`)
    }
    const held = this.active.get(senderIndex)
    if (held?.isValid()) return held
    const lease = new StaticLease(senderIndex, entry.keyId, entry.signer, (l) => {
      if (this.active.get(l.senderIndex) === l) this.active.delete(l.senderIndex)
    })
    this.active.set(senderIndex, lease)
    return lease
  }

  release(lease: SignerLease): Promise<void> {
    return lease.release()
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await Promise.all([...this.active.values()].map((l) => l.release()))
    this.onClose?.()
  }
}
