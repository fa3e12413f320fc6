/**
 * When a transaction in flight counts as dropped (pure). A status node that has not seen a fresh
 * transaction yet — a private relay's or a separate submit endpoint's transaction reaches it late,
 * or never before it is mined — must not make it look dropped, or it is needlessly replaced at +N%.
 * So the verdict asks the endpoint that accepted the transaction first, and trusts the absence of
 * an answer only after a grace period.
 */
import type { TxStatus } from '../submit/types.js'

/** What the driver read about one transaction of ours after a head. */
export interface TxObservation {
  /** The view of the endpoint that accepted it ('unknown' when it cannot say, or has no status). */
  accepting: TxStatus
  /** The status node's view, read when the accepting endpoint did not settle it. */
  node?: {
    /** It has the transaction (pending or mined). */
    knows: boolean
    /** Its latest nonce for the signer (mined transactions only). */
    chainNonce: bigint
  }
}

/**
 * Dropped when the accepting endpoint says it will never be mined (a relay's FAILED/CANCELLED), at
 * once. Otherwise only when nobody has it — the accepting endpoint does not vouch for it, the status
 * node does not know it, the nonce has not moved — and `graceBlocks` blocks have passed since it was
 * sent.
 */
export function isDropped(
  obs: TxObservation,
  tx: { sentBlock: bigint },
  at: { nonce: bigint; head: bigint },
  graceBlocks: number,
): boolean {
  if (obs.accepting === 'dropped') return true
  if (obs.accepting === 'pending' || obs.accepting === 'included') return false
  if (!obs.node || obs.node.knows || obs.node.chainNonce > at.nonce) return false
  return at.head - tx.sentBlock >= BigInt(graceBlocks)
}
