/**
 * Plain data of the bundle sender's state machine: settings, states, events, effects.
 * Everything here is serialisable (bigint, strings, arrays), so a driver can log, persist or ship it.
 */
import type { Hash } from 'viem'
import type { AddressUpdate } from '../../pool/types.js'
import type { SendErrorKind } from '../submit/outcome.js'

/** EIP-1559 fee pair (same shape as the proposer's `Fees`). */
export interface Fees {
  maxFeePerGas: bigint
  maxPriorityFeePerGas: bigint
}

export interface MachineSettings {
  /** Blocks a bundle (or hard cancellation) may stay unmined after the block it was sent in. */
  maxBlocksToWaitForMine: number
  /** Minimum raise of both fee fields for a replacement at the same nonce, in percent. */
  replacementFeePercentIncrease: number
  /** Fee bumps a hard cancellation may get before the machine gives up and resets. */
  maxCancellationFeeIncreases: number
  /** Blocks the underpriced meta-state may last before a cancellation is triggered. */
  maxReplacementUnderpricedBlocks: number
}

export const DEFAULT_MACHINE_SETTINGS: MachineSettings = {
  maxBlocksToWaitForMine: 2,
  replacementFeePercentIncrease: 10,
  maxCancellationFeeIncreases: 15,
  maxReplacementUnderpricedBlocks: 20,
}

export type BundlingMode = 'auto' | 'manual'

/** A transaction we signed at the tracked nonce: a bundle or a hard cancellation. */
export interface SentTx {
  hash: Hash
  kind: 'bundle' | 'cancel'
  fees: Fees
  /** Head when it was sent. */
  sentBlock: bigint
  /** The ops it carries (none for a cancellation); removed from the pool only if this tx is mined. */
  opHashes: Hash[]
}

/**
 * The transaction tracker's bookkeeping: one nonce at a time per signer.
 * `txs` are every transaction we sent at `nonce` (original, replacements, cancellations), oldest
 * first, since any of them may be the one that gets mined. `floor` is the least both fee fields
 * of the next transaction at `nonce` must reach; it only rises until the nonce moves.
 */
export interface Tracking {
  nonce: bigint
  txs: SentTx[]
  floor?: Fees
}

/** What the receipt of a mined tx said, when the driver looked it up (for metrics and the notify). */
export interface MinedTx {
  hash: Hash
  blockNumber?: bigint
  gasUsed?: bigint
  effectiveGasPrice?: bigint
}

/** Why the proposer returned no bundle (mirrors the proposer's NoBundleReason). */
export type NoBundleReason =
  | 'no_ops'
  | 'priced_out'
  | 'all_rejected'
  | 'unprofitable'
  | 'insufficient_balance'

/** How the last bundle cycle ended: the metadata Pending→Building captures. */
export type CycleOutcome =
  | { kind: 'mined'; tx: MinedTx; attempts: number }
  | { kind: 'dropped'; hash: Hash }
  | { kind: 'abandoned'; hash: Hash; reason: 'timeout' | 'nonce_taken' }
  | { kind: 'cancelled'; how: 'soft' | 'hard_mined' | 'gave_up' | 'aborted' }
  | { kind: 'send_failed'; error: SendErrorKind; message?: string }
  | { kind: 'no_bundle'; reason: NoBundleReason }
  | { kind: 'proposal_failed'; message: string }

/** Sent to every debug_bundler_sendBundleNow caller waiting on the current cycle. */
export type BundleResult =
  | { kind: 'mined'; txHash: Hash; blockNumber?: bigint }
  | { kind: 'no_bundle'; reason: NoBundleReason }
  | { kind: 'failed'; reason: string }

/** Shared by every state. */
export interface Context {
  tracking: Tracking
  /** Latest block seen. */
  head: bigint
  mode: BundlingMode
  /** sendBundleNow callers waiting for the current cycle's result. */
  waiters: number
  /** A reorg was seen: re-read the nonce from chain before the next fresh bundle. */
  resyncDue: boolean
}

/** What Building is doing: waiting for a trigger, or waiting for the answer to one effect. */
export type BuildPhase =
  | { kind: 'idle' }
  | { kind: 'proposing'; nonce: bigint; floor?: Fees }
  | { kind: 'sending'; nonce: bigint; fees: Fees; opHashes: Hash[] }
  /**
   * Waiting for `nonceReset` (`awaiting`), or to ask again on the next head after it failed; `thenBuild`:
   * propose once synced; `report`: the cycle's outcome to tell waiters unless the chain shows one of
   * our transactions mined.
   */
  | { kind: 'syncing'; awaiting: boolean; thenBuild: boolean; report?: CycleOutcome }

export interface BuildingState {
  tag: 'Building'
  ctx: Context
  phase: BuildPhase
  /** Replacements at the current nonce since the fees were last reset. */
  feeIncreases: number
  /** The underpriced meta-state: the block it was first met at. */
  underpriced?: { sinceBlock: bigint }
  last?: CycleOutcome
}

export interface PendingState {
  tag: 'Pending'
  ctx: Context
  /** Abandon (replace) when a head at or past this block arrives unmined; -1 until the first head is seen. */
  untilBlock: bigint
  feeIncreases: number
}

export interface CancellingState {
  tag: 'Cancelling'
  ctx: Context
  /** Fee increases this cancellation episode has made (≤ maxCancellationFeeIncreases). */
  cancelFeeIncreases: number
  /** Waiting for the answer to a `cancel` effect, or to retry it on the next head. */
  phase: { kind: 'submitting'; fees: Fees } | { kind: 'retry_next_head'; fees: Fees }
}

export interface CancelPendingState {
  tag: 'CancelPending'
  ctx: Context
  cancelHash: Hash
  untilBlock: bigint
  cancelFeeIncreases: number
}

export type SenderState = BuildingState | PendingState | CancellingState | CancelPendingState
export type StateTag = SenderState['tag']

export type ProposalResult =
  | { kind: 'bundle'; opHashes: Hash[]; fees: Fees }
  | { kind: 'none'; reason: NoBundleReason }
  | { kind: 'error'; message: string }

export type SenderEvent =
  /** Timer (`bundle_max_send_interval_millis` without an attempt; auto mode) or sendBundleNow (manual). */
  | { kind: 'trigger'; source: 'timer' | 'manual' }
  /** Every block, in order; `update` is the signer's AddressUpdate from the NewHead, if any. */
  | { kind: 'newHead'; blockNumber: bigint; update?: AddressUpdate; receipts?: MinedTx[] }
  | { kind: 'proposal'; result: ProposalResult }
  /**
   * `hash` is the hash of the signed tx (the driver knows it before sending). `atBlock`: the chain's
   * latest block when it was submitted, if the driver read it; the wait for mining counts from the
   * later of it and the last head seen (heads lag the chain, and a head mined before the submission
   * must not count as a block the tx failed to get into).
   */
  | {
      kind: 'sendResult'
      hash: Hash
      result: { kind: 'sent' } | { kind: 'error'; error: SendErrorKind; message?: string }
      atBlock?: bigint
    }
  /** The node no longer knows `hash` and the signer's nonce has not moved. */
  | { kind: 'txDropped'; hash: Hash }
  | {
      kind: 'cancelResult'
      result:
        | { kind: 'hard'; hash: Hash }
        | { kind: 'soft' }
        | { kind: 'error'; error: SendErrorKind; hash?: Hash; message?: string }
      /** As for sendResult. */
      atBlock?: bigint
    }
  /** Answer to `resetNonce`: the chain's (latest) nonce, and which of the checked hashes is mined. */
  | {
      kind: 'nonceReset'
      result:
        | {
            kind: 'ok'
            chainNonce: bigint
            mined?: MinedTx
            /**
             * A transaction from our key waiting in the node's mempool at chainNonce that we did not
             * send in this run (a previous run's bundle, or another process's): taken over as the
             * bundle in flight, so it is waited for, replaced or cancelled instead of collided with.
             */
            inFlight?: {
              hash: Hash
              fees: Fees
              /** Its ops, re-admitted to the pool, so a replacement carries them and a mine removes them. */
              opHashes?: Hash[]
            }
          }
        | { kind: 'error'; message: string }
    }
  | { kind: 'setMode'; mode: BundlingMode }

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

export type SenderEffect =
  /** Ask the proposer for a bundle at `nonce`; its fees must reach `feeFloor` (a replacement). Restarts the send-interval timer. */
  | { kind: 'propose'; nonce: bigint; feeFloor?: Fees; feeIncreases: number }
  /** Sign the last proposed bundle with `nonce` and `fees` and submit it. */
  | { kind: 'send'; nonce: bigint; fees: Fees; opHashes: Hash[]; replacing?: Hash }
  /** Cancel what blocks `nonce`: hard = empty tx to self with `fees`; soft = relay RPC for `txHash`. */
  | { kind: 'cancel'; nonce: bigint; fees: Fees; txHash?: Hash; feeIncreases: number }
  /** Read the chain's latest nonce and which of `checkHashes` is mined; answer with `nonceReset`. */
  | { kind: 'resetNonce'; checkHashes: Hash[] }
  /** Only ever for a mined bundle: its ops leave the pool. */
  | { kind: 'removeOps'; txHash: Hash; opHashes: Hash[] }
  | { kind: 'notify'; result: BundleResult }
  | { kind: 'log'; level: LogLevel; msg: string; fields: Record<string, string | number | bigint | boolean> }
  | { kind: 'metric'; name: string; labels: Record<string, string> }

export interface Step {
  state: SenderState
  effects: SenderEffect[]
}
