/**
 * The bundle sender's state machine, as a pure function: `transition(state, event, settings)`
 * returns the next state and the effects a driver performs. No I/O, no clock, never throws.
 *
 * STATES (edges exactly as the seed's diagram, see edges.ts; staying put is not an edge)
 * - Building: waits for a trigger (idle), or waits for the answer to one effect: `proposing`,
 *   `sending`, `syncing` (re-reading the nonce). Carries the fee-increase count and the
 *   underpriced meta-state (block first priced out). A replacement or rebuild proposes at once.
 * - Pending: a bundle is out; until head ≥ sent block + max_blocks_to_wait_for_mine (sent block: the
 *   later of the last head and the chain's block at submission, `atBlock`, as heads may lag).
 *   → Building when mined (ops removed, nonce+1), dropped (rebuild now above the floor),
 *   not mined in time (replacement now, both fees ≥ last·(100+pct)/100 rounded up), or the nonce
 *   was used by another tx (re-read the nonce; the ops stay in the pool).
 * - Cancelling: a cancellation of what blocks the nonce is being submitted. Hard → CancelPending;
 *   soft → Building. Rejected for price: bump (within the budget) or give up → Building.
 * - CancelPending: a hard cancellation is out. Mined → Building with state reset; dropped or not
 *   mined in time → Cancelling with a fee bump, or, the budget (max_cancellation_fee_increases)
 *   spent, → Building with the nonce re-read.
 * Building → Cancelling happens only in the underpriced meta-state: ops priced out of a replacement
 * (after "replacement underpriced" raised the floor, or a timed-out bundle's floor) for more than
 * max_replacement_underpriced_blocks blocks since first seen.
 *
 * EVENTS (plain data, from the driver): trigger{timer|manual} · newHead{blockNumber, update?,
 * receipts?} (a block is also the auto-mode trigger) · proposal{bundle|none|error} ·
 * sendResult{hash, sent|error kind, atBlock?} · txDropped{hash} · cancelResult{hard|soft|error, atBlock?} ·
 * nonceReset{chainNonce, mined?} · setMode.
 *
 * EFFECTS (plain data, for the driver): propose{nonce, feeFloor?} · send{nonce, fees, opHashes} ·
 * cancel{nonce, fees, txHash?} · resetNonce{checkHashes} · removeOps{txHash, opHashes} (only for
 * a mined bundle) · notify{result} (sendBundleNow callers) · log · metric.
 * Driver contract: effects in order; one answer-bearing effect (propose, send, cancel,
 * resetNonce) is outstanding at a time and its answer comes back as the matching event; heads
 * and triggers may arrive in between. The driver restarts its bundle_max_send_interval_millis
 * timer whenever it performs `propose`, and fires `trigger{timer}` when it runs out.
 *
 * No bundle (none or error) while a tx of ours is out at the nonce (a replacement was being built):
 * re-read the nonce and our hashes first, since ours may just have been mined; the no-bundle answer
 * reaches sendBundleNow callers only if none was.
 *
 * Send errors: already_known = sent. nonce_too_low = stop and re-read the nonce and our hashes
 * (never resend at nonce+1 blind). replacement_underpriced = floor over the attempted fees, rebuild
 * now. unavailable = maybe sent: tracked as in flight (floor, mined check), wait for a trigger.
 * underpriced / insufficient_funds / rejected / intrinsic_gas_too_low / condition_not_met = not
 * taken: ops stay in the pool, wait for a trigger, reason in `last` and the log. (On
 * condition_not_met the driver first rejects the ops whose validation storage moved and pushes a
 * trigger itself, so the rebuild comes at once: see builder/condition.ts.)
 */
import { onBuilding } from './building.js'
import { onCancelling, onCancelPending } from './cancelling.js'
import { freshContext, log, metric } from './common.js'
import { isAllowedMove } from './edges.js'
import { onPending } from './pending.js'
import {
  type BundlingMode,
  DEFAULT_MACHINE_SETTINGS,
  type MachineSettings,
  type SenderEvent,
  type SenderState,
  type Step,
} from './types.js'

export function transition(
  state: SenderState,
  event: SenderEvent,
  settings: MachineSettings = DEFAULT_MACHINE_SETTINGS,
): Step {
  const step = dispatch(state, event, settings)
  const from = state.tag
  const to = step.state.tag
  if (from === to) return step
  const effects = [
    ...step.effects,
    log(isAllowedMove(from, to) ? 'info' : 'error', 'sender state', {
      from,
      to,
      event: event.kind,
      nonce: step.state.ctx.tracking.nonce,
    }),
    metric('sender_state_transition', { from, to }),
  ]
  return { state: step.state, effects }
}

function dispatch(state: SenderState, event: SenderEvent, settings: MachineSettings): Step {
  switch (state.tag) {
    case 'Building':
      return onBuilding(state, event, settings)
    case 'Pending':
      return onPending(state, event, settings)
    case 'Cancelling':
      return onCancelling(state, event, settings)
    case 'CancelPending':
      return onCancelPending(state, event, settings)
  }
}

/**
 * The machine at process start: Building, re-reading the nonce (a bundle from before a restart may
 * still be pending; whatever sits at the nonce is then met as "replacement underpriced").
 */
export function start(mode: BundlingMode = 'auto'): Step {
  const ctx = freshContext(mode)
  return {
    state: {
      tag: 'Building',
      ctx,
      phase: { kind: 'syncing', awaiting: true, thenBuild: false },
      feeIncreases: 0,
    },
    effects: [{ kind: 'resetNonce', checkHashes: [] }, log('info', 'sender starting', { mode })],
  }
}
