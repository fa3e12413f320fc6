import type { Hex, TransactionSerializable } from 'viem'
import { LeaseLostError } from './errors.js'
import type { Signer } from './types.js'

export interface LeaseState {
  readonly keyId: string
  isValid(): boolean
  invalidReason(): string
}

/**
 * Fail closed inside the signer: no signature leaves while the lease is invalid, checked before the
 * (possibly slow, remote) signing and again after it, so a lease lost mid-call yields no bytes.
 */
export class LeasedSigner implements Signer {
  readonly address

  constructor(
    private readonly inner: Signer,
    private readonly lease: LeaseState,
  ) {
    this.address = inner.address
  }

  async signTransaction(tx: TransactionSerializable): Promise<Hex> {
    this.check()
    const raw = await this.inner.signTransaction(tx)
    this.check()
    return raw
  }

  private check(): void {
    if (!this.lease.isValid()) throw new LeaseLostError(this.lease.keyId, this.lease.invalidReason())
  }

  toJSON(): unknown {
    return { kind: 'leased', keyId: this.lease.keyId, address: this.address }
  }
}
