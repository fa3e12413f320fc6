/**
 * Plain data of the bundle sender's state machine: settings, states, events, effects.
 * Everything here is serialisable (bigint, strings, arrays), so a driver can log, persist or ship it.
 */
import type { Address, Hash } from 'viem'
import type { Fees } from '../../chain/fee-math.js'
import type { AddressUpdate } from '../../pool/types.js'
import type { SendErrorKind } from '../submit/outcome.js'
import type { TxObservation } from '../tracker/drop.js'
import type { Tracking } from '../tracker/tracking.js'

export interface MachineSettings {
  /** Blocks a bundle (or hard cancellation) may stay unmined after the block it was sent in. */
  maxBlocksToWaitForMine: number
  /** Minimum raise of both fee fields for a replacement at the same nonce, in percent. */
  replacementFeePercentIncrease: number
  /** Fee bumps a hard cancellation may get before the machine gives up and resets. */
  maxCancellationFeeIncreases: number
  /** Blocks the underpriced meta-state may last before a cancellation is triggered. */
  maxReplacementUnderpricedBlocks: number
  /**
   * Blocks after its submission before a transaction nobody vouches for (the accepting endpoint
   * cannot say, the status node does not know it) counts as dropped: status nodes lag.
   */
  dropGraceBlocks: number
}

export const DEFAULT_MACHINE_SETTINGS: MachineSettings = {
  maxBlocksToWaitForMine: 2,
  replacementFeePercentIncrease: 10,
  maxCancellationFeeIncreases: 15,
  maxReplacementUnderpricedBlocks: 20,
  dropGraceBlocks: 1,
}

export type BundlingMode = 'auto' | 'manual'

/** What the receipt of a mined tx said, when the driver looked it up (for metrics and the notify). */
export interface MinedTx {
  hash: Hash
  blockNumber?: bigint
  gasUsed?: bigint
  effectiveGasPrice?: bigint
  /** From the receipt: the transaction reverted (a reverted bundle executed none of its ops). */
  reverted?: boolean
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
  | { kind: 'sending'; nonce: bigint; fees: Fees; opHashes: Hash[]; entryPoint?: Address }
  /** A conditional send answered "condition not met": waiting for `opsRechecked`. */
  | { kind: 'rechecking' }
  /**
   * Waiting for `nonceReset` (`awaiting`), or to ask again on the next head after it failed; `thenBuild`:
   * propose once synced; `report`: the cycle's outcome to tell waiters unless the chain shows one of
   * our transactions mined; `reset`: forget the tracker's state at the nonce, whatever the chain says
   * (a cancellation given up).
   */
  | { kind: 'syncing'; awaiting: boolean; thenBuild: boolean; report?: CycleOutcome; reset?: boolean }

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
  | { kind: 'bundle'; opHashes: Hash[]; fees: Fees; entryPoint?: Address }
  | { kind: 'none'; reason: NoBundleReason }
  | { kind: 'error'; message: string }

export type SenderEvent =
  /** Timer (`bundle_max_send_interval_millis` without an attempt; auto mode) or sendBundleNow (manual). */
  | { kind: 'trigger'; source: 'timer' | 'manual' }
  /** Every block, in order; `update` is the signer's AddressUpdate from the NewHead, if any. */
  | { kind: 'newHead'; blockNumber: bigint; update?: AddressUpdate; receipts?: MinedTx[] }
  | { kind: 'proposal'; result: ProposalResult }
  /**
   * `hash` is the hash of the signed tx (the driver knows it before sending; none when signing
   * failed, so nothing left the process). `atBlock`: the chain's
   * latest block when it was submitted, if the driver read it; the wait for mining counts from the
   * later of it and the last head seen (heads lag the chain, and a head mined before the submission
   * must not count as a block the tx failed to get into).
   */
  | {
      kind: 'sendResult'
      hash?: Hash
      result: { kind: 'sent' } | { kind: 'error'; error: SendErrorKind; message?: string }
      atBlock?: bigint
    }
  /** Answer to `checkTx`: what the accepting endpoint and the status node say of `hash`. */
  | { kind: 'txObserved'; hash: Hash; observation: TxObservation }
  /** Answer to `recheckOps`: how many of the bundle's ops left the pool (their storage moved). */
  | { kind: 'opsRechecked'; removed: number }
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
  | { kind: 'nonceReset'; result: NonceSync | { kind: 'error'; message: string } }
  | { kind: 'setMode'; mode: BundlingMode }

/** What a nonce read found (the `nonceReset` answer when it worked). */
export interface NonceSync {
  kind: 'ok'
  chainNonce: bigint
  mined?: MinedTx
  /**
   * A transaction from our key waiting in the node's mempool at chainNonce that we did not send in
   * this run (a previous run's bundle, or another process's): taken over as the bundle in flight,
   * so it is waited for, replaced or cancelled instead of collided with.
   */
  inFlight?: {
    hash: Hash
    fees: Fees
    /** Its ops, re-admitted to the pool, so a replacement carries them and a mine removes them. */
    opHashes?: Hash[]
    entryPoint?: Address
  }
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

export type SenderEffect =
  /** Ask the proposer for a bundle at `nonce`; its fees must reach `feeFloor` (a replacement). Restarts the send-interval timer. */
  | { kind: 'propose'; nonce: bigint; feeFloor?: Fees; feeIncreases: number }
  /**
   * Sign the last proposed bundle with `nonce` and `fees` and submit it. `probe`: the bundle before
   * was abandoned, these are fresh fees under the floor, and the node decides whether anything
   * still holds the nonce.
   */
  | { kind: 'send'; nonce: bigint; fees: Fees; opHashes: Hash[]; replacing?: Hash; probe?: boolean }
  /** Cancel what blocks `nonce`: hard = empty tx to self with `fees`; soft = relay RPC for `txHash`. */
  | { kind: 'cancel'; nonce: bigint; fees: Fees; txHash?: Hash; feeIncreases: number }
  /** Read the chain's latest nonce and which of `checkHashes` is mined; answer with `nonceReset`. */
  | { kind: 'resetNonce'; checkHashes: Hash[] }
  /**
   * Ask the accepting endpoint (and, if it cannot say, the status node) about `hash`; answer with
   * `txObserved`. A query: it may overlap other effects, and a failed read is simply not answered.
   */
  | { kind: 'checkTx'; hash: Hash }
  /** Re-read the storage the last bundle's ops validated against, reject those whose slots moved; answer `opsRechecked`. */
  | { kind: 'recheckOps' }
  /** Only ever for a mined bundle whose receipt says it succeeded: its ops leave the pool. */
  | { kind: 'removeOps'; txHash: Hash; opHashes: Hash[]; entryPoint?: Address }
  | { kind: 'notify'; result: BundleResult }
  | { kind: 'log'; level: LogLevel; msg: string; fields: Record<string, string | number | bigint | boolean> }
  | { kind: 'metric'; name: string; labels: Record<string, string> }
  /** One observation of a mined bundle, for a histogram. */
  | { kind: 'measure'; name: 'blocks_to_mine' | 'ops_per_bundle' | 'gas_per_bundle'; value: number }

export interface Step {
  state: SenderState
  effects: SenderEffect[]
}
