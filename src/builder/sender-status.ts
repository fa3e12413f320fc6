import type { Address, Hash } from 'viem'
import type { BundlingMode, CycleOutcome, SenderState } from './machine/types.js'
import { latestTx } from './tracker/tracking.js'

/** The transaction a sender waits on: a bundle or a hard cancellation. */
export interface PendingTxStatus {
  hash: Hash
  kind: 'bundle' | 'cancel'
  maxFeePerGas: string
  maxPriorityFeePerGas: string
  /** Blocks since it was sent, of `maxBlocksToWaitForMine`. */
  blocksWaited: number
  maxBlocksToWaitForMine: number
  ops: number
  /** Transactions sent at this nonce so far (the first and its replacements). */
  attempts: number
}

/** What one bundle sender is doing, as plain JSON (for debug_bundler_getSenderStatus and the status page). */
export interface SenderStatus {
  index: number
  signer?: Address
  /** The leased key's id (`key-<i>` for private keys, the KMS key id); never key material. */
  keyId?: string
  /** The seed's state: Building, Pending, Cancelling or CancelPending. */
  state: SenderState['tag']
  phase?: string
  nonce: string
  inFlight?: Hash
  pending?: PendingTxStatus
  feeIncreases: number
  /** The underpriced meta-state: since which block replacements have been refused as underpriced. */
  underpricedSince?: string
  mode: BundlingMode
  /** How the last bundle cycle ended (kind only; `outcome` has the detail). */
  last?: string
  outcome?: OutcomeStatus
  /** The last block the sender has seen (from the pool's heads); undefined before the first. */
  head?: string
  /** The signer's balance at the last head, in wei. */
  balance?: string
}

/** A cycle's outcome as JSON: its kind and what identifies it. */
export interface OutcomeStatus {
  kind: CycleOutcome['kind']
  detail?: string
  txHash?: Hash
  blockNumber?: string
  gasUsed?: string
}

export function outcomeStatus(o: CycleOutcome): OutcomeStatus {
  switch (o.kind) {
    case 'mined':
      return {
        kind: o.kind,
        txHash: o.tx.hash,
        blockNumber: o.tx.blockNumber?.toString(),
        gasUsed: o.tx.gasUsed?.toString(),
        detail: `${o.attempts} attempt${o.attempts === 1 ? '' : 's'}`,
      }
    case 'dropped':
      return { kind: o.kind, txHash: o.hash }
    case 'abandoned':
      return { kind: o.kind, txHash: o.hash, detail: o.reason }
    case 'cancelled':
      return { kind: o.kind, detail: o.how }
    case 'send_failed':
      return { kind: o.kind, detail: o.error }
    case 'no_bundle':
      return { kind: o.kind, detail: o.reason }
    case 'proposal_failed':
      return { kind: o.kind, detail: o.message.slice(0, 200) }
  }
}

export interface StatusExtras {
  index: number
  mode: BundlingMode
  maxBlocksToWaitForMine: number
  signer?: Address
  keyId?: string
  balance?: bigint
}

/** The sender's state machine, described (pure). */
export function describeSender(s: SenderState | undefined, x: StatusExtras): SenderStatus {
  const tracking = s?.ctx.tracking
  const latest = tracking ? latestTx(tracking) : undefined
  const waiting = s && (s.tag === 'Pending' || s.tag === 'CancelPending') ? latest : undefined
  return {
    index: x.index,
    signer: x.signer,
    keyId: x.keyId,
    state: s?.tag ?? 'Building',
    phase: s?.tag === 'Building' ? s.phase.kind : undefined,
    nonce: (tracking?.nonce ?? 0n).toString(),
    inFlight: latest?.hash,
    pending:
      waiting && s && tracking
        ? {
            hash: waiting.hash,
            kind: waiting.kind,
            maxFeePerGas: waiting.fees.maxFeePerGas.toString(),
            maxPriorityFeePerGas: waiting.fees.maxPriorityFeePerGas.toString(),
            blocksWaited: s.ctx.head >= waiting.sentBlock ? Number(s.ctx.head - waiting.sentBlock) : 0,
            maxBlocksToWaitForMine: x.maxBlocksToWaitForMine,
            ops: waiting.opHashes.length,
            attempts: tracking.txs.length,
          }
        : undefined,
    feeIncreases: s && 'feeIncreases' in s ? s.feeIncreases : 0,
    underpricedSince: s?.tag === 'Building' ? s.underpriced?.sinceBlock.toString() : undefined,
    mode: x.mode,
    last: s?.tag === 'Building' ? s.last?.kind : undefined,
    outcome: s?.tag === 'Building' && s.last ? outcomeStatus(s.last) : undefined,
    head: s && s.ctx.head >= 0n ? s.ctx.head.toString() : undefined,
    balance: x.balance?.toString(),
  }
}
