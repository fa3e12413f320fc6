import type { Address } from 'viem'
import type { PoolOp } from '../pool/types.js'

/** One op sender of one EntryPoint, as the builder claims it. */
export interface ClaimedSender {
  entryPoint: Address
  sender: Address
}

/**
 * Claims on op senders across processes sharing one pool: no two bundle senders (in any process)
 * bundle ops of the same sender at the same time. The proposer claims its candidates' senders and
 * keeps only the ops it got; the sender driver keeps the claims of the bundle in flight and releases
 * the rest (every claim once the nonce settles). Claims expire with the claiming process's liveness.
 * Without a shared pool there is nothing to claim (shards already split senders between the senders
 * of one process).
 */
export interface OpClaims {
  /** Claims the ops' senders for `owner`; returns the ops whose sender is now `owner`'s. */
  claim(owner: Address, entryPoint: Address, ops: PoolOp[]): Promise<PoolOp[]>
  /** Keeps `owner`'s claims on exactly these senders, releasing every other. */
  retain(owner: Address, keep: ClaimedSender[]): Promise<void>
  close(): Promise<void>
}
