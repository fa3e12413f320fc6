/**
 * Cancelling and CancelPending: get rid of what blocks the tracked nonce as cheaply as possible.
 * A hard cancellation is an empty tx to self at the floor fees, bumped on each retry, at most
 * max_cancellation_fee_increases times; a soft one is a relay RPC and ends at once.
 */

import type { Hash } from 'viem'
import type { Fees } from '../../chain/fee-math.js'
import {
  afterSoftCancel,
  findTx,
  observeHead,
  recordReplacementUnderpriced,
  recordSent,
} from '../tracker/tracking.js'
import {
  applyMined,
  ignore,
  judgeDrop,
  log,
  metric,
  receiptFor,
  sentAt,
  stay,
  takeHead,
  toCancelling,
  toIdle,
  toSyncing,
  untilBlock,
  whileWaiting,
} from './common.js'
import type {
  CancellingState,
  CancelPendingState,
  Context,
  MachineSettings,
  SenderEffect,
  SenderEvent,
  Step,
} from './types.js'

type Ev<K extends SenderEvent['kind']> = Extract<SenderEvent, { kind: K }>

export function onCancelling(s: CancellingState, ev: SenderEvent, settings: MachineSettings): Step {
  switch (ev.kind) {
    case 'setMode':
    case 'trigger':
      return whileWaiting(s, ev)
    case 'newHead': {
      const effects: SenderEffect[] = []
      const ctx = takeHead(s.ctx, ev, effects)
      const moved = nonceMoved(ctx, ev, effects)
      if (moved) return moved
      if (s.phase.kind === 'retry_next_head') {
        const { fees } = s.phase
        effects.push({
          kind: 'cancel',
          nonce: ctx.tracking.nonce,
          fees,
          txHash: undefined,
          feeIncreases: s.cancelFeeIncreases,
        })
        return stay({ ...s, ctx, phase: { kind: 'submitting', fees } }, effects)
      }
      return stay({ ...s, ctx }, effects)
    }
    case 'cancelResult':
      return onCancelResult(s, ev, settings)
    case 'txObserved':
    case 'proposal':
    case 'sendResult':
    case 'nonceReset':
    case 'opsRechecked':
      return ignore(s, ev)
  }
}

function onCancelResult(s: CancellingState, ev: Ev<'cancelResult'>, settings: MachineSettings): Step {
  if (s.phase.kind !== 'submitting') return ignore(s, ev)
  const { fees } = s.phase
  const effects: SenderEffect[] = []
  const r = ev.result
  if (r.kind === 'hard') return toCancelPending(s, r.hash, fees, settings, effects, ev.atBlock)
  if (r.kind === 'soft') {
    effects.push(log('info', 'soft cancellation done', { nonce: s.ctx.tracking.nonce }))
    effects.push(metric('cancellation_done', { kind: 'soft' }))
    const ctx = { ...s.ctx, tracking: afterSoftCancel(s.ctx.tracking) }
    return toIdle(ctx, { last: { kind: 'cancelled', how: 'soft' } }, effects)
  }
  effects.push(
    log('warn', 'cancellation failed', {
      nonce: s.ctx.tracking.nonce,
      error: r.error,
      message: r.message ?? '',
    }),
  )
  effects.push(metric('cancellation_error', { error: r.error }))
  switch (r.error) {
    case 'already_known':
    case 'unavailable':
      // The signed cancellation may be (or is) at the node: track it as sent.
      if (r.hash) return toCancelPending(s, r.hash, fees, settings, effects, ev.atBlock)
      return stay({ ...s, phase: { kind: 'retry_next_head', fees } }, effects)
    case 'replacement_underpriced':
    case 'underpriced': {
      const ctx = {
        ...s.ctx,
        tracking: recordReplacementUnderpriced(s.ctx.tracking, fees, settings.replacementFeePercentIncrease),
      }
      return bumpOrGiveUp(ctx, s.cancelFeeIncreases, settings, effects)
    }
    case 'nonce_too_low':
      // The nonce moved under us (the blocker or one of ours got mined): read it from chain.
      return toSyncing(s.ctx, { last: { kind: 'cancelled', how: 'aborted' } }, effects)
    default:
      return giveUp(s.ctx, effects)
  }
}

function toCancelPending(
  s: CancellingState,
  hash: Hash,
  fees: Fees,
  settings: MachineSettings,
  effects: SenderEffect[],
  atBlock?: bigint,
): Step {
  const tx = { hash, kind: 'cancel' as const, fees, sentBlock: sentAt(s.ctx, atBlock), opHashes: [] }
  const ctx: Context = {
    ...s.ctx,
    tracking: recordSent(s.ctx.tracking, tx, settings.replacementFeePercentIncrease),
  }
  effects.push(
    log('info', 'hard cancellation sent', {
      nonce: ctx.tracking.nonce,
      txHash: hash,
      maxFeePerGas: fees.maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    }),
  )
  effects.push(metric('cancellation_sent', { kind: 'hard' }))
  const state: CancelPendingState = {
    tag: 'CancelPending',
    ctx,
    cancelHash: hash,
    untilBlock: untilBlock(ctx, settings, atBlock),
    cancelFeeIncreases: s.cancelFeeIncreases,
  }
  return { state, effects }
}

/** Another fee bump if the budget allows, else give up. */
function bumpOrGiveUp(
  ctx: Context,
  increases: number,
  settings: MachineSettings,
  effects: SenderEffect[],
): Step {
  if (increases >= settings.maxCancellationFeeIncreases) return giveUp(ctx, effects)
  return toCancelling(ctx, increases + 1, effects) ?? giveUp(ctx, effects)
}

/**
 * Back to Building "and reset internal state": the nonce is re-read from chain (unless one of our
 * hashes turns out mined) and the tracker forgets the episode: its transactions, floor and refusals.
 */
function giveUp(ctx: Context, effects: SenderEffect[]): Step {
  effects.push(log('warn', 'cancellation abandoned; resetting', { nonce: ctx.tracking.nonce }))
  effects.push(metric('cancellation_abandoned'))
  return toSyncing(ctx, { last: { kind: 'cancelled', how: 'gave_up' }, reset: true }, effects)
}

/** Mined (ours or the cancellation) or nonce taken: the cancellation episode is over either way. */
function nonceMoved(ctx: Context, ev: Ev<'newHead'>, effects: SenderEffect[]): Step | undefined {
  const obs = observeHead(ctx.tracking, ev.update)
  if (obs.kind === 'mined') {
    const r = applyMined(ctx, obs.tx, receiptFor(ev, obs.tx.hash), effects)
    return toIdle(r.ctx, { last: r.last }, effects)
  }
  if (obs.kind === 'nonce_taken') {
    effects.push(log('warn', 'nonce used by another transaction', { nonce: ctx.tracking.nonce }))
    return toSyncing(ctx, { last: { kind: 'cancelled', how: 'aborted' } }, effects)
  }
  return undefined
}

export function onCancelPending(s: CancelPendingState, ev: SenderEvent, settings: MachineSettings): Step {
  switch (ev.kind) {
    case 'setMode':
    case 'trigger':
      return whileWaiting(s, ev)
    case 'txObserved': {
      const tx = findTx(s.ctx.tracking, s.cancelHash)
      if (ev.hash !== s.cancelHash || !tx) return ignore(s, ev)
      const effects: SenderEffect[] = []
      if (!judgeDrop(s.ctx, tx, ev, settings, effects)) return stay(s, effects)
      effects.push(log('warn', 'cancellation dropped', { nonce: s.ctx.tracking.nonce, txHash: ev.hash }))
      return bumpOrGiveUp(s.ctx, s.cancelFeeIncreases, settings, effects)
    }
    case 'newHead': {
      const effects: SenderEffect[] = []
      const ctx = takeHead(s.ctx, ev, effects)
      const moved = nonceMoved(ctx, ev, effects)
      if (moved) return moved
      if (ev.blockNumber >= s.untilBlock) {
        effects.push(
          log('info', 'cancellation not mined in time', { nonce: ctx.tracking.nonce, txHash: s.cancelHash }),
        )
        return bumpOrGiveUp(ctx, s.cancelFeeIncreases, settings, effects)
      }
      effects.push({ kind: 'checkTx', hash: s.cancelHash })
      return stay({ ...s, ctx }, effects)
    }
    case 'proposal':
    case 'sendResult':
    case 'cancelResult':
    case 'nonceReset':
    case 'opsRechecked':
      return ignore(s, ev)
  }
}
