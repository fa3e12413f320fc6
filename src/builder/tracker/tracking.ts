/**
 * The transaction tracker's bookkeeping, pure: the nonce in use, every transaction sent at it, the
 * fee floor the next one must reach, and what the node has told us about that nonce. The seed's
 * step "track the status of the bundle transaction, re-submitting if needed" is this module (the
 * arithmetic), `drop.ts` (when a transaction counts as dropped) and `transaction-tracker.ts` (the
 * node reads); the state machine holds one `Tracking` value and replaces it with what these return.
 *
 * Rules kept here:
 * - one nonce at a time: the nonce moves only when one of our txs at it is mined, or when the chain
 *   says so (`resync`), or on a reset;
 * - the floor is the last sent (or node-refused) fees raised by the replacement percentage,
 *   rounding up, and it never falls while the nonce stays — falling back would only earn another
 *   "replacement underpriced" and oscillate — with one exception: after an abandoned bundle the
 *   next transaction goes out at fresh fees (a probe: the node says whether anything still holds
 *   the nonce), and if the node takes it, its fees are the new base.
 */
import type { Address, Hash } from 'viem'
import { type Fees, replacementFloor } from '../../chain/fee-math.js'
import type { AddressUpdate } from '../../pool/types.js'
import { liftToFloor, maxFees } from './fee-floor.js'

/** A transaction we signed at the tracked nonce: a bundle or a hard cancellation. */
export interface SentTx {
  hash: Hash
  kind: 'bundle' | 'cancel'
  fees: Fees
  /** The chain's block when it was sent (the later of the last head and the block at submission). */
  sentBlock: bigint
  /** The ops it carries (none for a cancellation); removed from the pool only if this tx is mined. */
  opHashes: Hash[]
  /** The EntryPoint it calls (a bundle). */
  entryPoint?: Address
}

/**
 * One nonce at a time per signer. `txs` are every transaction we sent at `nonce` (original,
 * replacements, cancellations), oldest first, since any of them may be the one that gets mined.
 * `floor` is the least both fee fields of the next transaction at `nonce` must reach.
 * `refused`: the node answered "replacement underpriced" at this nonce (the seed's condition for
 * the underpriced meta-state). `abandoned`: our bundle at this nonce could not be outbid by the ops
 * (priced out of its replacement), so the next one is built at fresh fees.
 */
export interface Tracking {
  nonce: bigint
  txs: SentTx[]
  floor?: Fees
  refused?: true
  abandoned?: true
}

export function newTracking(nonce: bigint): Tracking {
  return { nonce, txs: [] }
}

/**
 * A tx (bundle or hard cancellation) went out at the tracked nonce, or may have (`accepted` false:
 * an RPC timeout). A probe after an abandoned bundle that the node accepted proves nothing above it
 * holds the nonce there: its own fees set the floor.
 */
export function recordSent(t: Tracking, tx: SentTx, pct: number, accepted = true): Tracking {
  const txs = t.txs.some((x) => x.hash === tx.hash) ? t.txs : [...t.txs, tx]
  const raised = replacementFloor(tx.fees, pct)
  const floor = t.abandoned && accepted ? raised : maxFees(raised, t.floor)
  const { abandoned: _probed, ...rest } = t
  return { ...rest, txs, floor }
}

/**
 * The node said "replacement underpriced" for `attempted`: something at this nonce pays at least
 * that much, so the next try must beat it by the percentage (and whatever of ours may still be there).
 */
export function recordReplacementUnderpriced(t: Tracking, attempted: Fees, pct: number): Tracking {
  const { abandoned: _probed, ...rest } = t
  return { ...rest, floor: maxFees(replacementFloor(attempted, pct), t.floor), refused: true }
}

/** Our bundle at this nonce cannot be outbid by the ops: the next one is built at fresh fees. */
export function abandon(t: Tracking): Tracking {
  return { ...t, abandoned: true }
}

/** The least fees the next proposal must reach: the floor, unless the last bundle was abandoned. */
export function floorForNext(t: Tracking): Fees | undefined {
  return t.abandoned ? undefined : t.floor
}

/** Fees for the next tx at the tracked nonce: at least the floor (unless abandoned). */
export function feesForNext(t: Tracking, proposed: Fees): Fees {
  return liftToFloor(proposed, floorForNext(t))
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
