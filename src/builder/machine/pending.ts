/**
 * Pending: a bundle is out at the tracked nonce. Each head says whether one of our txs at the nonce
 * is mined, whether someone else used the nonce, or whether the wait is over; otherwise the machine
 * asks about the bundle (`checkTx`) and judges the answer (tracker/drop.ts). Every way out goes to
 * Building.
 */
import { latestTx, observeHead } from '../tracker/tracking.js'
import {
  applyMined,
  ignore,
  judgeDrop,
  log,
  metric,
  receiptFor,
  stay,
  takeHead,
  toIdle,
  toProposing,
  toSyncing,
  whileWaiting,
} from './common.js'
import type { MachineSettings, PendingState, SenderEffect, SenderEvent, Step } from './types.js'

export function onPending(s: PendingState, ev: SenderEvent, settings: MachineSettings): Step {
  switch (ev.kind) {
    case 'setMode':
    case 'trigger':
      return whileWaiting(s, ev)
    case 'txObserved': {
      const latest = latestTx(s.ctx.tracking)
      if (!latest || latest.hash !== ev.hash) return ignore(s, ev)
      const effects: SenderEffect[] = []
      if (!judgeDrop(s.ctx, latest, ev, settings, effects)) return stay(s, effects)
      // Gone, nonce unmoved: rebuild and resend at the same nonce, above the floor (a resend
      // without a bump would be "underpriced" where the old one is still known).
      effects.push(
        log('warn', 'bundle dropped; rebuilding', { nonce: s.ctx.tracking.nonce, txHash: ev.hash }),
        metric('bundle_dropped'),
      )
      return toProposing(
        s.ctx,
        { feeIncreases: s.feeIncreases + 1, last: { kind: 'dropped', hash: ev.hash } },
        effects,
      )
    }
    case 'newHead': {
      const effects: SenderEffect[] = []
      const ctx = takeHead(s.ctx, ev, effects)
      const obs = observeHead(ctx.tracking, ev.update)
      if (obs.kind === 'mined') {
        const r = applyMined(ctx, obs.tx, receiptFor(ev, obs.tx.hash), effects)
        return toIdle(r.ctx, { last: r.last }, effects)
      }
      const latest = latestTx(ctx.tracking)
      const hash = latest?.hash ?? '0x'
      if (obs.kind === 'nonce_taken') {
        // Ops of the lost bundle are all still in the pool: no removal, just re-read the nonce.
        effects.push(log('warn', 'nonce used by another transaction', { nonce: ctx.tracking.nonce }))
        effects.push(metric('bundle_nonce_taken'))
        return toSyncing(ctx, { last: { kind: 'abandoned', hash, reason: 'nonce_taken' } }, effects)
      }
      if (s.untilBlock < 0n) {
        // Taken over before any head was seen: the wait starts now.
        if (latest) effects.push({ kind: 'checkTx', hash: latest.hash })
        return stay(
          { ...s, ctx, untilBlock: ev.blockNumber + BigInt(settings.maxBlocksToWaitForMine) },
          effects,
        )
      }
      if (ev.blockNumber >= s.untilBlock) {
        // Not mined in time: replace at the same nonce, both fees raised (the floor), at once.
        effects.push(
          log('info', 'bundle not mined in time; replacing', { nonce: ctx.tracking.nonce, txHash: hash }),
        )
        effects.push(metric('bundle_abandoned'))
        return toProposing(
          ctx,
          { feeIncreases: s.feeIncreases + 1, last: { kind: 'abandoned', hash, reason: 'timeout' } },
          effects,
        )
      }
      // Still waiting: is it still out there?
      if (latest) effects.push({ kind: 'checkTx', hash: latest.hash })
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
