/**
 * Helpers every state's handler uses: entering Building (idle, rebuilding, or re-reading the
 * nonce), taking a head, applying a mined tx, and the log/metric/notify effects.
 */
import type { Hash } from 'viem'
import { isDropped } from '../tracker/drop.js'
import { afterMined, floorForNext, hashesOf, newTracking, type SentTx } from '../tracker/tracking.js'
import type {
  BuildingState,
  BundleResult,
  CancellingState,
  Context,
  CycleOutcome,
  LogLevel,
  MachineSettings,
  MinedTx,
  SenderEffect,
  SenderEvent,
  SenderState,
  Step,
} from './types.js'

export type NewHeadEvent = Extract<SenderEvent, { kind: 'newHead' }>

export function log(
  level: LogLevel,
  msg: string,
  fields: Record<string, string | number | bigint | boolean> = {},
): SenderEffect {
  return { kind: 'log', level, msg, fields }
}

export function metric(name: string, labels: Record<string, string> = {}): SenderEffect {
  return { kind: 'metric', name, labels }
}

export function stay(state: SenderState, effects: SenderEffect[] = []): Step {
  return { state, effects }
}

/** An event that means nothing in this state: kept, with a debug line (never a throw). */
export function ignore(state: SenderState, ev: SenderEvent): Step {
  return stay(state, [log('debug', 'event ignored', { state: state.tag, event: ev.kind })])
}

/**
 * Mode switches and triggers while a transaction is out (Pending, Cancelling, CancelPending): the
 * mode is noted; a sendBundleNow caller waits for this cycle's end; the timer has nothing to do.
 */
export function whileWaiting(
  s: Exclude<SenderState, BuildingState>,
  ev: Extract<SenderEvent, { kind: 'setMode' | 'trigger' }>,
): Step {
  if (ev.kind === 'setMode') return stay({ ...s, ctx: { ...s.ctx, mode: ev.mode } })
  if (ev.source === 'manual') return stay({ ...s, ctx: { ...s.ctx, waiters: s.ctx.waiters + 1 } })
  return ignore(s, ev)
}

/** The result a sendBundleNow caller gets when a cycle ends this way; undefined while it goes on. */
function resultFor(o: CycleOutcome): BundleResult | undefined {
  switch (o.kind) {
    case 'mined':
      return { kind: 'mined', txHash: o.tx.hash, blockNumber: o.tx.blockNumber }
    case 'no_bundle':
      return { kind: 'no_bundle', reason: o.reason }
    case 'send_failed':
      return { kind: 'failed', reason: o.error }
    case 'proposal_failed':
      return { kind: 'failed', reason: `proposal failed: ${o.message}` }
    case 'cancelled':
      return { kind: 'failed', reason: `cancelled (${o.how})` }
    case 'abandoned':
      return o.reason === 'nonce_taken'
        ? { kind: 'failed', reason: 'nonce used by another transaction' }
        : undefined
    case 'dropped':
      return undefined
  }
}

/** Waiters are told when a (new) cycle outcome is final. */
export function notifyWaiters(
  ctx: Context,
  last: CycleOutcome | undefined,
  effects: SenderEffect[],
): Context {
  const result = last && resultFor(last)
  if (!result || ctx.waiters === 0) return ctx
  effects.push({ kind: 'notify', result })
  return { ...ctx, waiters: 0 }
}

export interface BuildingOpts {
  feeIncreases?: number
  underpriced?: BuildingState['underpriced']
  /** A new cycle outcome: recorded, and told to waiters if final. */
  last?: CycleOutcome
  /** An earlier outcome kept as metadata only. */
  prior?: CycleOutcome
}

/** Building, waiting for a trigger. */
export function toIdle(ctx: Context, opts: BuildingOpts, effects: SenderEffect[]): Step {
  const c = notifyWaiters(ctx, opts.last, effects)
  const state: BuildingState = {
    tag: 'Building',
    ctx: c,
    phase: { kind: 'idle' },
    feeIncreases: opts.feeIncreases ?? 0,
    underpriced: opts.underpriced,
    last: opts.last ?? opts.prior,
  }
  return { state, effects }
}

/** Building, re-reading the nonce (and which of our hashes is mined) from chain. */
export function toSyncing(
  ctx: Context,
  opts: BuildingOpts & { thenBuild?: boolean; report?: CycleOutcome; reset?: boolean },
  effects: SenderEffect[],
): Step {
  const c = notifyWaiters(ctx, opts.last, effects)
  effects.push({ kind: 'resetNonce', checkHashes: hashesOf(c.tracking) })
  const phase: BuildingState['phase'] = {
    kind: 'syncing',
    awaiting: true,
    thenBuild: opts.thenBuild ?? false,
  }
  if (opts.report) phase.report = opts.report
  if (opts.reset) phase.reset = true
  const state: BuildingState = {
    tag: 'Building',
    ctx: c,
    phase,
    feeIncreases: opts.feeIncreases ?? 0,
    underpriced: opts.underpriced,
    last: opts.last ?? opts.prior,
  }
  return { state, effects }
}

/**
 * Building, asking the proposer for a bundle now (a trigger, or a replacement that may not wait).
 * After a reorg the nonce is re-read first, and the build follows the answer.
 */
export function toProposing(ctx: Context, opts: BuildingOpts, effects: SenderEffect[]): Step {
  if (ctx.resyncDue) return toSyncing(ctx, { ...opts, thenBuild: true }, effects)
  const c = notifyWaiters(ctx, opts.last, effects)
  const { nonce } = c.tracking
  const floor = floorForNext(c.tracking)
  const feeIncreases = opts.feeIncreases ?? 0
  effects.push({ kind: 'propose', nonce, feeFloor: floor, feeIncreases })
  const state: BuildingState = {
    tag: 'Building',
    ctx: c,
    phase: { kind: 'proposing', nonce, floor },
    feeIncreases,
    underpriced: opts.underpriced,
    last: opts.last ?? opts.prior,
  }
  return { state, effects }
}

/** Cancelling, submitting a cancellation of what blocks the nonce at the floor fees (the cheapest a replacement may be). */
export function toCancelling(
  ctx: Context,
  cancelFeeIncreases: number,
  effects: SenderEffect[],
): Step | undefined {
  const { nonce, floor } = ctx.tracking
  if (!floor) return undefined
  const target = latestOf(ctx.tracking.txs, 'bundle')
  effects.push({ kind: 'cancel', nonce, fees: floor, txHash: target?.hash, feeIncreases: cancelFeeIncreases })
  effects.push(
    log('warn', 'cancelling blocked nonce', {
      nonce,
      maxFeePerGas: floor.maxFeePerGas,
      maxPriorityFeePerGas: floor.maxPriorityFeePerGas,
      feeIncreases: cancelFeeIncreases,
      block: ctx.head,
    }),
  )
  const state: CancellingState = {
    tag: 'Cancelling',
    ctx,
    cancelFeeIncreases,
    phase: { kind: 'submitting', fees: floor },
  }
  return { state, effects }
}

function latestOf(txs: SentTx[], kind: SentTx['kind']): SentTx | undefined {
  for (let i = txs.length - 1; i >= 0; i--) if (txs[i]!.kind === kind) return txs[i]
  return undefined
}

/** Take a new head: a head at or below the last one is a reorg, after which the nonce is re-read before building. */
export function takeHead(ctx: Context, ev: NewHeadEvent, effects: SenderEffect[]): Context {
  if (ctx.head >= 0n && ev.blockNumber <= ctx.head) {
    effects.push(log('warn', 'reorg: head went back', { from: ctx.head, to: ev.blockNumber }))
    effects.push(metric('sender_reorg'))
    return { ...ctx, head: ev.blockNumber, resyncDue: true }
  }
  return { ...ctx, head: ev.blockNumber }
}

/**
 * One of our txs at the nonce is mined: the nonce moves on. A bundle's ops leave the pool only when
 * its receipt says it succeeded: a reverted bundle executed none of them, and without a receipt the
 * pool's own chain tracking removes whatever the EntryPoint reported (never an op lost).
 */
export function applyMined(
  ctx: Context,
  tx: SentTx,
  receipt: MinedTx | undefined,
  effects: SenderEffect[],
): { ctx: Context; last: CycleOutcome } {
  const mined: MinedTx = receipt ?? { hash: tx.hash }
  const bundles = ctx.tracking.txs.filter((x) => x.kind === 'bundle')
  const attempts = bundles.length
  const fields = {
    nonce: ctx.tracking.nonce,
    txHash: tx.hash,
    ops: tx.opHashes.length,
    attempts,
    ...(mined.gasUsed !== undefined ? { gasUsed: mined.gasUsed } : {}),
    ...(mined.gasUsed !== undefined && mined.effectiveGasPrice !== undefined
      ? { fee: mined.gasUsed * mined.effectiveGasPrice }
      : {}),
  }
  if (tx.kind === 'cancel') {
    effects.push(log('info', 'cancellation mined', fields), metric('cancellation_mined'))
    return {
      ctx: { ...ctx, tracking: afterMined(ctx.tracking) },
      last: { kind: 'cancelled', how: 'hard_mined' },
    }
  }
  if (mined.reverted === true) {
    effects.push(log('error', 'bundle mined but reverted; its ops stay in the pool', fields))
    effects.push(metric('bundle_reverted'))
  } else {
    effects.push(log('info', 'bundle mined', fields), metric('bundle_mined'))
    if (tx.opHashes.length > 0 && mined.reverted === false) {
      effects.push({ kind: 'removeOps', txHash: tx.hash, opHashes: tx.opHashes, entryPoint: tx.entryPoint })
    }
  }
  effects.push(...measures(bundles, tx, mined))
  return { ctx: { ...ctx, tracking: afterMined(ctx.tracking) }, last: { kind: 'mined', tx: mined, attempts } }
}

/** Histogram observations of a mined bundle: blocks since the first send at the nonce, ops, gas. */
function measures(bundles: SentTx[], tx: SentTx, mined: MinedTx): SenderEffect[] {
  const out: SenderEffect[] = [{ kind: 'measure', name: 'ops_per_bundle', value: tx.opHashes.length }]
  const first = bundles[0] // txs are kept oldest first
  if (mined.blockNumber !== undefined && first) {
    const blocks = mined.blockNumber - first.sentBlock
    out.push({ kind: 'measure', name: 'blocks_to_mine', value: Number(blocks > 0n ? blocks : 0n) })
  }
  if (mined.gasUsed !== undefined)
    out.push({ kind: 'measure', name: 'gas_per_bundle', value: Number(mined.gasUsed) })
  return out
}

/** Whether the observed `tx` counts as dropped (tracker/drop.ts); the verdict is logged either way. */
export function judgeDrop(
  ctx: Context,
  tx: SentTx,
  ev: Extract<SenderEvent, { kind: 'txObserved' }>,
  settings: MachineSettings,
  effects: SenderEffect[],
): boolean {
  const { observation } = ev
  const dropped = isDropped(
    observation,
    tx,
    { nonce: ctx.tracking.nonce, head: ctx.head },
    settings.dropGraceBlocks,
  )
  effects.push(
    log('debug', 'transaction checked', {
      txHash: tx.hash,
      accepting: observation.accepting,
      nodeKnows: observation.node?.knows ?? 'not asked',
      block: ctx.head,
      dropped,
    }),
  )
  return dropped
}

export function receiptFor(ev: NewHeadEvent, hash: Hash): MinedTx {
  return ev.receipts?.find((r) => r.hash === hash) ?? { hash, blockNumber: ev.blockNumber }
}

/** The block a tx sent now counts as sent at: the later of the last head and `atBlock`, the chain's block at submission (heads lag). */
export function sentAt(ctx: Context, atBlock?: bigint): bigint {
  const head = ctx.head < 0n ? 0n : ctx.head
  return atBlock !== undefined && atBlock > head ? atBlock : head
}

/** First block at which a tx sent now counts as not mined in time: max_blocks_to_wait_for_mine after it was sent. */
export function untilBlock(ctx: Context, settings: MachineSettings, atBlock?: bigint): bigint {
  return sentAt(ctx, atBlock) + BigInt(settings.maxBlocksToWaitForMine)
}

export function freshContext(mode: Context['mode']): Context {
  return { tracking: newTracking(0n), head: -1n, mode, waiters: 0, resyncDue: false }
}
