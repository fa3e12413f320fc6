import type { Address, Hash, Hex } from 'viem'
import type { Fees } from '../../chain/fee-math.js'
import type { Signer } from '../signer/types.js'
import type { SendErrorKind } from './outcome.js'

/** Storage a bundle's validation read (account → slot → value), for conditional submission. */
export type ExpectedStorage = Record<Address, Record<Hex, Hex>>

export interface SendOptions {
  expectedStorage?: ExpectedStorage
}

/** The transaction a cancellation targets: the blocking nonce, the fees to use, and the tx hash. */
export interface CancelTarget {
  nonce: bigint
  fees: Fees
  /** The pending transaction (a soft cancellation names it). */
  hash?: Hash
}

export type CancelResult = { kind: 'hard'; hash: Hash } | { kind: 'soft' }

/**
 * What the endpoint that accepted a transaction knows about it. `dropped`: it will never be mined
 * (a private relay reported it FAILED or CANCELLED); `missing`: the endpoint (a node) no longer
 * holds it; `unknown`: the endpoint cannot say (ask the chain).
 */
export type TxStatus = 'pending' | 'included' | 'dropped' | 'missing' | 'unknown'

/** Submits signed transactions and cancels stuck ones (raw | conditional | flashbots | bloxroute). */
export interface TransactionSender {
  readonly name: string
  /** Throws SendError. Returns the hash the endpoint acknowledged. */
  send(signedTx: Hex, opts?: SendOptions): Promise<Hash>
  cancel(target: CancelTarget, signer: Signer): Promise<CancelResult>
  /**
   * What the endpoint that accepted `hash` says of it; only senders whose endpoint can answer have
   * it (a node, the Flashbots status API). Never throws: 'unknown' when the endpoint cannot say.
   */
  status?(hash: Hash): Promise<TxStatus>
}

/** A submission failure in the state machine's terms; the message never holds secrets. */
export class SendError extends Error {
  constructor(
    readonly kind: SendErrorKind,
    message: string,
  ) {
    super(message)
    this.name = 'SendError'
  }
}

/** Gas of a hard cancellation (an empty transaction to self), as Rundler spends it. */
export const CANCELLATION_GAS = 30_000n
