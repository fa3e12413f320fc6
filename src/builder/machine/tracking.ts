/**
 * The transaction tracker's pure bookkeeping: the nonce in use, the transactions sent at it, and
 * the fee floor the next one must reach. The driver (and src/builder/tracker.ts) only hold a
 * `Tracking` value and replace it with what these functions return.
 *
 * Rules kept here:
 * - one nonce at a time: the nonce moves only when one of our txs at it is mined, or when the chain
 *   says so (`resync`);
 * - the floor is the last sent (or node-rejected) fees raised by the replacement percentage,
 *   rounding up, and it never falls while the nonce stays — falling back would only earn another
 *   "replacement underpriced" and oscillate.
 */
import type { Hash } from 'viem'
import type { AddressUpdate } from '../../pool/types.js'
import { liftToFloor, maxFees, raiseFees } from './fees.js'
import type { Fees, SentTx, Tracking } from './types.js'

export function newTracking(nonce: bigint): Tracking {
  return { nonce, txs: [] }
}

/** A tx (bundle or hard cancellation) went out at the tracked nonce, or may have (RPC timeout). */
export function recordSent(t: Tracking, tx: SentTx, pct: number): Tracking {
  const txs = t.txs.some((x) => x.hash === tx.hash) ? t.txs : [...t.txs, tx]
  return { ...t, txs, floor: maxFees(raiseFees(tx.fees, pct), t.floor) }
}

/**
 * The node said "replacement underpriced" for `attempted`: something at this nonce pays at least
 * that much, so the next try must beat it by the percentage.
 */
export function recordReplacementUnderpriced(t: Tracking, attempted: Fees, pct: number): Tracking {
  return { ...t, floor: maxFees(raiseFees(attempted, pct), t.floor) }
}

/** Fees for the next tx at the tracked nonce: at least the floor. */
export function feesForNext(t: Tracking, proposed: Fees): Fees {
  return liftToFloor(proposed, t.floor)
}

export function hashesOf(t: Tracking): Hash[] {
  return t.txs.map((x) => x.hash)
}

export function latestTx(t: Tracking, kind?: SentTx['kind']): SentTx | undefined {
  for (let i = t.txs.length - 1; i >= 0; i--) {
    const tx = t.txs[i]!
    if (!kind || tx.kind === kind) return tx
  }
  return undefined
}

export function findTx(t: Tracking, hash: Hash): SentTx | undefined {
  return t.txs.find((x) => x.hash === hash)
}

export type HeadObservation =
  | { kind: 'mined'; tx: SentTx }
  /** The address used our nonce (or a later one) in this block and none of our hashes is mined. */
  | { kind: 'nonce_taken'; usedNonce: bigint }
  | { kind: 'nothing' }

/** What one block says about the tracked nonce. Any hash sent at the nonce counts: a replacement may lose to the original. */
export function observeHead(t: Tracking, update: AddressUpdate | undefined): HeadObservation {
  if (!update) return { kind: 'nothing' }
  const mined = t.txs.find((x) => update.minedTxHashes.includes(x.hash))
  if (mined) return { kind: 'mined', tx: mined }
  if (update.nonce !== undefined && update.nonce >= t.nonce)
    return { kind: 'nonce_taken', usedNonce: update.nonce }
  return { kind: 'nothing' }
}

/** One of our txs at the nonce is mined: move to the next nonce, with nothing in flight and no floor. */
export function afterMined(t: Tracking): Tracking {
  return newTracking(t.nonce + 1n)
}

/**
 * The chain's latest nonce. Equal to ours: our txs may still be pending, keep them and the floor.
 * Different: whatever we had at the old nonce is moot; start over at the chain's.
 */
export function resync(t: Tracking, chainNonce: bigint): Tracking {
  return chainNonce === t.nonce ? t : newTracking(chainNonce)
}

/** A soft (relay) cancellation succeeded: nothing of ours is in flight at the nonce any more. */
export function afterSoftCancel(t: Tracking): Tracking {
  return newTracking(t.nonce)
}
