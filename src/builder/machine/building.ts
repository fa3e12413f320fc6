/**
 * Building: wait for a trigger, ask the proposer, send what it proposes; or re-read the nonce.
 * Leaves for Pending (a bundle went out) or Cancelling (the underpriced meta-state lasted too long).
 */
import {
  abandon,
  feesForNext,
  findTx,
  latestTx,
  newTracking,
  observeHead,
  recordReplacementUnderpriced,
  recordSent,
  resync,
  type SentTx,
} from '../tracker/tracking.js'
import {
  applyMined,
  ignore,
  log,
  metric,
  notifyWaiters,
  receiptFor,
  sentAt,
  stay,
  takeHead,
  toCancelling,
  toIdle,
  toProposing,
  toSyncing,
  untilBlock,
} from './common.js'
import type {
  BuildingState,
  Context,
  CycleOutcome,
  MachineSettings,
  PendingState,
  SenderEffect,
  SenderEvent,
  Step,
} from './types.js'

type Ev<K extends SenderEvent['kind']> = Extract<SenderEvent, { kind: K }>

export function onBuilding(s: BuildingState, ev: SenderEvent, settings: MachineSettings): Step {
  switch (ev.kind) {
    case 'setMode':
      return stay({ ...s, ctx: { ...s.ctx, mode: ev.mode } })
    case 'trigger':
      return onTrigger(s, ev)
    case 'newHead':
      return onHead(s, ev)
    case 'proposal':
      return onProposal(s, ev, settings)
    case 'sendResult':
      return onSendResult(s, ev, settings)
    case 'nonceReset':
      return onNonceReset(s, ev, settings)
    case 'opsRechecked':
      return onRechecked(s, ev)
    case 'txObserved':
    case 'cancelResult':
      return ignore(s, ev)
  }
}

/** Same fee-increase count and meta-state, for staying in this cycle. */
function keep(s: BuildingState) {
  return { feeIncreases: s.feeIncreases, underpriced: s.underpriced, prior: s.last }
}

function onTrigger(s: BuildingState, ev: Ev<'trigger'>): Step {
  // The timer is an auto-mode trigger; sendBundleNow is honoured in both modes (it only adds an attempt).
  if (ev.source === 'timer' && s.ctx.mode !== 'auto') return ignore(s, ev)
  const ctx: Context = ev.source === 'manual' ? { ...s.ctx, waiters: s.ctx.waiters + 1 } : s.ctx
  const effects: SenderEffect[] = [log('debug', 'trigger', { source: ev.source, phase: s.phase.kind })]
  if (s.phase.kind === 'idle') return toProposing(ctx, keep(s), effects)
  if (s.phase.kind === 'syncing') return stay({ ...s, ctx, phase: { ...s.phase, thenBuild: true } }, effects)
  // Already proposing or sending: the waiter gets this attempt's result.
  return stay({ ...s, ctx }, effects)
}

function onHead(s: BuildingState, ev: Ev<'newHead'>): Step {
  const effects: SenderEffect[] = []
  let ctx = takeHead(s.ctx, ev, effects)
  if (s.phase.kind === 'syncing') {
    // The nonceReset answer is authoritative; a failed read is retried on the next head.
    if (s.phase.awaiting) return stay({ ...s, ctx }, effects)
    const { thenBuild, report, reset } = s.phase
    return toSyncing(ctx, { ...keep(s), thenBuild, report, reset }, effects)
  }
  const obs = observeHead(ctx.tracking, ev.update)
  if (obs.kind === 'mined') {
    // E.g. the original won over a replacement we are still building: any answer now pending is stale (nonce moved).
    const r = applyMined(ctx, obs.tx, receiptFor(ev, obs.tx.hash), effects)
    if (s.phase.kind === 'idle') return toIdle(r.ctx, { last: r.last }, effects)
    const c = notifyWaiters(r.ctx, r.last, effects)
    return stay({ ...s, ctx: c, feeIncreases: 0, underpriced: undefined, last: r.last }, effects)
  }
  if (obs.kind === 'nonce_taken') {
    effects.push(log('warn', 'nonce used by another transaction', { nonce: ctx.tracking.nonce }))
    if (s.phase.kind === 'idle') return toSyncing(ctx, keep(s), effects)
    // Proposing or sending at a spent nonce: re-read it as soon as that answer is in.
    ctx = { ...ctx, resyncDue: true }
    return stay({ ...s, ctx }, effects)
  }
  if (s.phase.kind === 'idle' && ctx.mode === 'auto') {
    effects.push(log('debug', 'trigger', { source: 'block', block: ev.blockNumber }))
    return toProposing(ctx, keep(s), effects)
  }
  return stay({ ...s, ctx }, effects)
}

function onProposal(s: BuildingState, ev: Ev<'proposal'>, settings: MachineSettings): Step {
  if (s.phase.kind !== 'proposing') return ignore(s, ev)
  const effects: SenderEffect[] = []
  const { ctx } = s
  if (s.phase.nonce !== ctx.tracking.nonce || ctx.resyncDue) {
    // Built for a nonce that has since moved (mined, or taken): never send it at the next nonce unchecked.
    effects.push(log('info', 'proposal dropped: nonce moved', { proposedFor: s.phase.nonce }))
    if (ctx.resyncDue) return toSyncing(ctx, keep(s), effects)
    return toIdle(ctx, keep(s), effects)
  }
  const r = ev.result
  if (r.kind === 'error') {
    effects.push(log('warn', 'proposal failed', { message: r.message }))
    effects.push(metric('bundle_proposal_failed'))
    return endWithoutBundle(s, { kind: 'proposal_failed', message: r.message }, effects)
  }
  if (r.kind === 'bundle' && r.opHashes.length > 0) {
    const t = ctx.tracking
    const fees = feesForNext(t, r.fees)
    const nonce = t.nonce
    const send: SenderEffect = { kind: 'send', nonce, fees, opHashes: r.opHashes }
    const replacing = latestTx(t)?.hash
    if (replacing) send.replacing = replacing
    if (t.abandoned && t.floor) send.probe = true
    effects.push(send)
    const phase: BuildingState['phase'] = { kind: 'sending', nonce, fees, opHashes: r.opHashes }
    if (r.entryPoint) phase.entryPoint = r.entryPoint
    return stay({ ...s, phase }, effects)
  }
  const reason = r.kind === 'none' ? r.reason : 'no_ops'
  const t = ctx.tracking
  if (reason === 'priced_out' && t.floor && !t.abandoned) {
    if (t.refused) return onUnderpriced(s, settings, effects)
    if (latestTx(t)) return onAbandoned(s, effects)
  }
  effects.push(log('debug', 'no bundle', { reason }))
  return endWithoutBundle(s, { kind: 'no_bundle', reason }, effects)
}

/**
 * No bundle this time. With a transaction of ours still out at the nonce (building its replacement),
 * that one may just have been mined, its ops looking gone or spent to the proposer: ask the chain
 * before telling anyone there is no bundle.
 */
function endWithoutBundle(s: BuildingState, last: CycleOutcome, effects: SenderEffect[]): Step {
  if (latestTx(s.ctx.tracking)) {
    effects.push(
      log('info', 'no replacement built; checking whether ours was mined', { nonce: s.ctx.tracking.nonce }),
    )
    return toSyncing(s.ctx, { ...keep(s), report: last }, effects)
  }
  return toIdle(s.ctx, { ...keep(s), last }, effects)
}

/**
 * Our bundle at this nonce is out and no op pays the raised fees of its replacement, with no
 * "replacement underpriced" heard yet: the bundle is abandoned. The next one is built at fresh fees
 * (a probe): if the node still holds ours it answers "replacement underpriced", and the seed's
 * underpriced meta-state follows; if not, the fresh bundle goes out.
 */
function onAbandoned(s: BuildingState, effects: SenderEffect[]): Step {
  const { ctx } = s
  effects.push(
    log('warn', 'bundle abandoned: ops priced out of its replacement', { nonce: ctx.tracking.nonce }),
  )
  effects.push(metric('bundle_priced_out'))
  const next = { ...ctx, tracking: abandon(ctx.tracking) }
  return toIdle(next, { feeIncreases: 0, last: { kind: 'no_bundle', reason: 'priced_out' } }, effects)
}

/**
 * The seed's underpriced meta-state: the node answered "replacement underpriced" at this nonce and,
 * after raising the fees over it, no op pays them. First encounter: capture the block and build
 * again on the next trigger with the fee increases reset. Later encounters: once more than
 * max_replacement_underpriced_blocks have passed since, cancel what blocks the nonce.
 * Refinement: "resetting the fees" resets the increase count, not the floor: the node has just
 * refused everything under it, so a bundle below it would only be refused again.
 */
function onUnderpriced(s: BuildingState, settings: MachineSettings, effects: SenderEffect[]): Step {
  const { ctx } = s
  const last: CycleOutcome = { kind: 'no_bundle', reason: 'priced_out' }
  effects.push(metric('bundle_priced_out'))
  if (!s.underpriced) {
    effects.push(
      log('warn', 'underpriced: ops priced out of a replacement', {
        nonce: ctx.tracking.nonce,
        block: ctx.head,
      }),
    )
    return toIdle(ctx, { feeIncreases: 0, underpriced: { sinceBlock: ctx.head }, last }, effects)
  }
  if (ctx.head - s.underpriced.sinceBlock > BigInt(settings.maxReplacementUnderpricedBlocks)) {
    const c = toCancelling(notifyWaiters(ctx, last, effects), 0, effects)
    if (c) return c
  }
  return toIdle(ctx, { feeIncreases: 0, underpriced: s.underpriced, last }, effects)
}

/** The ops whose validation storage moved have left the pool: rebuild at once without them, or wait. */
function onRechecked(s: BuildingState, ev: Ev<'opsRechecked'>): Step {
  if (s.phase.kind !== 'rechecking') return ignore(s, ev)
  const effects: SenderEffect[] = [log('info', 'condition not met: ops rechecked', { removed: ev.removed })]
  if (ev.removed > 0) return toProposing(s.ctx, keep(s), effects)
  return toIdle(s.ctx, { ...keep(s), last: { kind: 'send_failed', error: 'condition_not_met' } }, effects)
}

function onSendResult(s: BuildingState, ev: Ev<'sendResult'>, settings: MachineSettings): Step {
  if (s.phase.kind !== 'sending') return ignore(s, ev)
  const phase = s.phase
  const effects: SenderEffect[] = []
  let { ctx } = s
  const pct = settings.replacementFeePercentIncrease
  const fields = {
    nonce: phase.nonce,
    txHash: ev.hash ?? 'none',
    maxFeePerGas: phase.fees.maxFeePerGas,
    maxPriorityFeePerGas: phase.fees.maxPriorityFeePerGas,
    ops: phase.opHashes.length,
  }
  if (phase.nonce !== ctx.tracking.nonce) {
    effects.push(log('info', 'send answer for a nonce that moved; ignored', fields))
    return ctx.resyncDue ? toSyncing(ctx, keep(s), effects) : toIdle(ctx, keep(s), effects)
  }
  const r = ev.result
  if (!ev.hash) {
    // Never signed: nothing left this process. The ops stay pooled; wait for the next trigger.
    effects.push(
      log('warn', 'bundle not signed', {
        nonce: phase.nonce,
        message: r.kind === 'error' ? (r.message ?? '') : '',
      }),
    )
    effects.push(metric('bundle_send_error', { error: 'not_signed' }))
    const error = r.kind === 'error' ? r.error : 'rejected'
    return toIdle(ctx, { ...keep(s), last: { kind: 'send_failed', error, message: 'not signed' } }, effects)
  }
  const sentTx: SentTx = {
    hash: ev.hash,
    kind: 'bundle',
    fees: phase.fees,
    sentBlock: sentAt(ctx, ev.atBlock),
    opHashes: phase.opHashes,
  }
  if (phase.entryPoint) sentTx.entryPoint = phase.entryPoint
  if (r.kind === 'sent' || r.error === 'already_known') {
    // "already known": the node holds this very tx, which is as good as sent.
    ctx = { ...ctx, tracking: recordSent(ctx.tracking, sentTx, pct) }
    effects.push(log('info', 'bundle sent', { ...fields, alreadyKnown: r.kind === 'error' }))
    effects.push(metric('bundle_sent', { replacement: String(s.feeIncreases > 0) }))
    const state: PendingState = {
      tag: 'Pending',
      ctx,
      untilBlock: untilBlock(ctx, settings, ev.atBlock),
      feeIncreases: s.feeIncreases,
    }
    return { state, effects }
  }
  effects.push(log('warn', 'bundle send failed', { ...fields, error: r.error, message: r.message ?? '' }))
  effects.push(metric('bundle_send_error', { error: r.error }))
  switch (r.error) {
    case 'replacement_underpriced':
      // Something at this nonce pays at least what we offered: raise over it and rebuild at once.
      ctx = { ...ctx, tracking: recordReplacementUnderpriced(ctx.tracking, phase.fees, pct) }
      return toProposing(ctx, { ...keep(s), feeIncreases: s.feeIncreases + 1 }, effects)
    case 'nonce_too_low':
      // Maybe our earlier tx just got mined: stop and ask the chain; never resend these ops at nonce+1 blind.
      return toSyncing(ctx, keep(s), effects)
    case 'unavailable':
      // The tx may have reached the node: count it as sent at this nonce (floor, mined check), then wait.
      ctx = { ...ctx, tracking: recordSent(ctx.tracking, sentTx, pct, false) }
      return toIdle(
        ctx,
        { ...keep(s), last: { kind: 'send_failed', error: r.error, message: r.message } },
        effects,
      )
    case 'condition_not_met':
      // Storage some op validated against moved: those ops leave the pool, then a rebuild at once.
      effects.push({ kind: 'recheckOps' })
      return stay({ ...s, phase: { kind: 'rechecking' } }, effects)
    default:
      // underpriced (below base fee / pool full), insufficient_funds, rejected, intrinsic gas:
      // the node did not take it. Ops stay in the pool; the next trigger rebuilds at the fees (and
      // chain state) of that moment.
      return toIdle(
        ctx,
        { ...keep(s), last: { kind: 'send_failed', error: r.error, message: r.message } },
        effects,
      )
  }
}

function onNonceReset(s: BuildingState, ev: Ev<'nonceReset'>, settings: MachineSettings): Step {
  if (s.phase.kind !== 'syncing' || !s.phase.awaiting) return ignore(s, ev)
  const effects: SenderEffect[] = []
  const r = ev.result
  if (r.kind === 'error') {
    effects.push(log('warn', 'nonce read failed; retrying on next head', { message: r.message }))
    return stay({ ...s, phase: { ...s.phase, awaiting: false } }, effects)
  }
  let ctx: Context = { ...s.ctx, resyncDue: false }
  const before = ctx.tracking.nonce
  let last: CycleOutcome | undefined
  const minedTx = r.mined ? findTx(ctx.tracking, r.mined.hash) : undefined
  const reset = s.phase.reset === true
  if (minedTx) {
    const m = applyMined(ctx, minedTx, r.mined, effects)
    ctx = m.ctx
    last = m.last
    // A lagging node may report an older nonce than the receipt proves; never go below nonce+1.
    if (r.chainNonce > ctx.tracking.nonce) ctx = { ...ctx, tracking: newTracking(r.chainNonce) }
  } else if (reset) {
    // The seed's "reset internal state": nothing of the old episode (txs, floor, refusals) is kept.
    ctx = { ...ctx, tracking: newTracking(r.chainNonce) }
    effects.push(log('info', 'tracker reset', { from: before, nonce: r.chainNonce }))
  } else {
    ctx = { ...ctx, tracking: resync(ctx.tracking, r.chainNonce) }
  }
  const moved = ctx.tracking.nonce !== before || reset
  effects.push(
    log('info', 'nonce synced', { from: before, to: ctx.tracking.nonce, mined: minedTx?.hash ?? '' }),
  )
  // Nothing of ours mined: the outcome that sent us here (if any) is the cycle's answer.
  const report = minedTx ? undefined : s.phase.report
  const opts = moved
    ? { feeIncreases: 0, underpriced: undefined, last: last ?? report }
    : { ...keep(s), last: report }
  const leftover = r.inFlight
  if (leftover && !minedTx && !findTx(ctx.tracking, leftover.hash)) {
    // Building → Pending ("bundle submitted", by whoever sent it): wait for it like our own.
    const tx: SentTx = {
      hash: leftover.hash,
      kind: 'bundle',
      fees: leftover.fees,
      sentBlock: ctx.head < 0n ? 0n : ctx.head,
      opHashes: leftover.opHashes ?? [],
    }
    if (leftover.entryPoint) tx.entryPoint = leftover.entryPoint
    ctx = { ...ctx, tracking: recordSent(ctx.tracking, tx, settings.replacementFeePercentIncrease) }
    effects.push(
      log('info', 'taking over a transaction pending at our nonce', {
        nonce: ctx.tracking.nonce,
        txHash: leftover.hash,
      }),
    )
    const state: PendingState = {
      tag: 'Pending',
      ctx,
      // At start-up no head is known yet: the wait is counted from the first head (see pending.ts).
      untilBlock: ctx.head < 0n ? -1n : untilBlock(ctx, settings),
      feeIncreases: 0,
    }
    return { state, effects }
  }
  if (moved && !minedTx && !report && ctx.waiters > 0) {
    effects.push({ kind: 'notify', result: { kind: 'failed', reason: 'nonce re-read from chain; ops kept' } })
    ctx = { ...ctx, waiters: 0 }
  }
  return s.phase.thenBuild ? toProposing(ctx, opts, effects) : toIdle(ctx, opts, effects)
}
