/**
 * The oracle of the sender machine's property tests: invariants checked from events and effects
 * only (plus the state the machine was in), after every step. See machine-properties.test.ts.
 */
import type { Hash } from 'viem'
import { isAllowedMove } from '../../src/builder/machine/edges.js'
import type {
  MachineSettings,
  SenderEffect,
  SenderEvent,
  SenderState,
} from '../../src/builder/machine/types.js'
import { maxFees, meetsFloor } from '../../src/builder/tracker/fee-floor.js'
import { type Fees, replacementFloor as raiseFees } from '../../src/chain/fee-math.js'

/** A cheap assertion for the hot loop (vitest's expect is slow over ~100k steps). */
export function ok(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg)
}

export const ANSWERED = new Set(['propose', 'send', 'cancel', 'resetNonce', 'recheckOps'])
export const answers: Record<string, SenderEvent['kind']> = {
  propose: 'proposal',
  send: 'sendResult',
  cancel: 'cancelResult',
  resetNonce: 'nonceReset',
  recheckOps: 'opsRechecked',
}

/** The oracle: invariants checked from events and effects only. */
export class Oracle {
  /** Fees of the last tx the node may hold, per nonce (sent, already known, maybe sent, hard cancel). */
  lastHeld = new Map<bigint, Fees>()
  /** Hashes the node may hold, by nonce. */
  held = new Map<bigint, Set<Hash>>()
  nonceOf = new Map<Hash, bigint>()
  /** Lower bound of the chain's nonce from what events proved (mined, taken, read from chain). */
  chainAtLeast = 0n
  /** Highest fees refused with "replacement underpriced", per nonce. */
  refused = new Map<bigint, Fees>()
  /** The ops each signed bundle carried. */
  opsOf = new Map<Hash, Hash[]>()
  removed = new Set<Hash>()
  lastSend?: Extract<SenderEffect, { kind: 'send' }>
  lastCancel?: Extract<SenderEffect, { kind: 'cancel' }>
  /** nonce_too_low seen; no send/cancel until the chain was asked. */
  needsChainCheck = false
  cancelEpisode?: { increases: number; lastFees?: Fees }
  /** A bundle was priced out and no probe has been answered since: sends at fresh fees (probes) may follow. */
  probeAllowed = false
  edges = new Set<string>()
  /** Behaviours the generator must reach for the properties to say much. */
  reached = new Set<string>()

  constructor(readonly settings: MachineSettings) {}

  check(prev: SenderState, ev: SenderEvent, next: SenderState, effects: SenderEffect[]) {
    const pct = this.settings.replacementFeePercentIncrease
    // (1) Only the diagram's edges.
    ok(isAllowedMove(prev.tag, next.tag), `edge not in diagram: ${prev.tag}→${next.tag} on ${ev.kind}`)
    if (prev.tag !== next.tag || prev.tag === 'Building') this.edges.add(`${prev.tag}>${next.tag}`)
    // (2) At most one answer-bearing effect per step.
    ok(effects.filter((e) => ANSWERED.has(e.kind)).length <= 1, 'two answer-bearing effects at once')

    // Learn from the event what the node/chain now holds (answers count only if they answered something).
    this.learn(prev, ev)
    if (ev.kind === 'txObserved' && prev.tag !== next.tag) this.reached.add('dropped')
    if (next.tag === 'Building' && next.underpriced && !(prev.tag === 'Building' && prev.underpriced))
      this.reached.add('underpriced')

    for (const e of effects) {
      if (e.kind === 'send' || e.kind === 'cancel') {
        // (3) One nonce in flight per signer: a new nonce only after chain evidence resolved the old one.
        for (const [n, hashes] of this.held) {
          if (n !== e.nonce && n >= this.chainAtLeast && hashes.size > 0) {
            ok(e.nonce === n, `second nonce while one is in flight: ${e.nonce} vs ${n}`)
          }
        }
        ok(e.nonce >= this.chainAtLeast, 'send at a nonce the chain already used')
        // (4) nonce_too_low never leads to a send before the chain is checked.
        ok(!this.needsChainCheck, 'send after nonce_too_low without a chain check')
        // (5) A replacement raises both fields by the percentage over the last tx held at that nonce,
        // except the one probe at fresh fees after a bundle was abandoned (priced out of its
        // replacement): the node then says whether anything still holds the nonce.
        const held = this.lastHeld.get(e.nonce)
        const probe = e.kind === 'send' && e.probe === true
        if (probe) {
          ok(this.probeAllowed, 'probe without an abandoned bundle')
          this.reached.add('probe')
        }
        if (held && !probe) ok(meetsFloor(e.fees, raiseFees(held, pct)), 'replacement under the bump')
        // ... and over fees the node already turned down as a too-small replacement at that nonce.
        const refused = this.refused.get(e.nonce)
        if (refused) ok(meetsFloor(e.fees, raiseFees(refused, pct)), 'resent at fees the node refused')
        ok(e.fees.maxFeePerGas >= e.fees.maxPriorityFeePerGas, 'tip above fee cap')
        if (e.kind === 'send') this.lastSend = e
        else {
          this.lastCancel = e
          // (6) Cancellation fee increases within the budget.
          if (!this.cancelEpisode) this.cancelEpisode = { increases: 0 }
          const ep = this.cancelEpisode
          if (ep.lastFees && e.fees.maxFeePerGas > ep.lastFees.maxFeePerGas) ep.increases += 1
          ep.lastFees = e.fees
          ok(ep.increases <= this.settings.maxCancellationFeeIncreases, 'too many cancellation fee increases')
          ok(
            e.feeIncreases <= this.settings.maxCancellationFeeIncreases,
            'cancel effect over the increase budget',
          )
        }
      }
      if (e.kind === 'removeOps') {
        // (7) No op lost: removal only for a bundle the chain says is mined and succeeded (its
        // receipt), with exactly its ops, once.
        const receipt =
          ev.kind === 'newHead' && ev.update?.minedTxHashes.includes(e.txHash)
            ? ev.receipts?.find((r) => r.hash === e.txHash)
            : ev.kind === 'nonceReset' && ev.result.kind === 'ok' && ev.result.mined?.hash === e.txHash
              ? ev.result.mined
              : undefined
        ok(receipt, 'removeOps without the tx mined')
        ok(receipt.reverted === false, 'removeOps for a reverted bundle or without its receipt')
        const sent = this.opsOf.get(e.txHash)
        ok(sent && sent.join() === e.opHashes.join(), 'removeOps with other ops than the mined bundle')
        for (const op of e.opHashes) {
          ok(!this.removed.has(op), 'op removed twice')
          this.removed.add(op)
        }
      }
    }
    if (next.tag === 'Building') this.cancelEpisode = undefined

    // (8) The floor never falls while a tx is in flight at an unchanged nonce, except when a soft
    // cancellation clears it, the tracker is reset (a cancellation given up), or the node took a probe.
    const a = prev.ctx.tracking
    const b = next.ctx.tracking
    const softCancel = ev.kind === 'cancelResult' && ev.result.kind === 'soft' && prev.tag === 'Cancelling'
    const reset = this.isReset(prev, ev)
    const probeTaken =
      ev.kind === 'sendResult' &&
      prev.tag === 'Building' &&
      prev.phase.kind === 'sending' &&
      this.lastSend?.probe === true &&
      (ev.result.kind === 'sent' || ev.result.error === 'already_known')
    if (a.nonce === b.nonce && a.txs.length > 0 && !softCancel && !reset && !probeTaken) {
      ok(b.floor && meetsFloor(b.floor, a.floor), 'floor fell while a tx is in flight')
    }
    // (9) State sanity.
    ok(new Set(b.txs.map((x) => x.hash)).size === b.txs.length, 'duplicate tracked tx')
    if (next.tag === 'Pending') ok(b.txs.length > 0, 'Pending with nothing in flight')
    if (next.tag === 'CancelPending')
      ok(
        b.txs.some((x) => x.hash === next.cancelHash),
        'cancel tx untracked',
      )
    if (next.tag === 'Cancelling') ok(b.floor, 'Cancelling without a floor')
  }

  /** The answer to a nonce read after a cancellation was given up: the tracker starts over. */
  private isReset(prev: SenderState, ev: SenderEvent): boolean {
    return (
      ev.kind === 'nonceReset' &&
      ev.result.kind === 'ok' &&
      prev.tag === 'Building' &&
      prev.phase.kind === 'syncing' &&
      prev.phase.awaiting &&
      prev.phase.reset === true
    )
  }

  private forget(nonce: bigint) {
    this.lastHeld.delete(nonce)
    this.refused.delete(nonce)
    this.held.delete(nonce)
  }

  private hold(nonce: bigint, hash: Hash, fees: Fees) {
    if (nonce < this.chainAtLeast) return // a stale answer: that nonce is already spent
    this.lastHeld.set(nonce, fees)
    const set = this.held.get(nonce) ?? new Set<Hash>()
    set.add(hash)
    this.held.set(nonce, set)
    this.nonceOf.set(hash, nonce)
  }

  private refuse(nonce: bigint, fees: Fees) {
    const prev = this.refused.get(nonce)
    this.refused.set(nonce, prev ? maxFees(prev, fees) : fees)
  }

  private proven(nonce: bigint) {
    if (nonce > this.chainAtLeast) this.chainAtLeast = nonce
  }

  private learn(prev: SenderState, ev: SenderEvent) {
    const phase = prev.tag === 'Building' ? prev.phase.kind : undefined
    if (
      ev.kind === 'proposal' &&
      phase === 'proposing' &&
      ev.result.kind === 'none' &&
      ev.result.reason === 'priced_out'
    )
      this.probeAllowed = true
    // The seed's "reset internal state": the machine forgets the episode at the nonce, and so do we
    // (what the node holds there refuses anything lower, which is its business, not an invariant).
    if (this.isReset(prev, ev)) {
      this.forget(prev.ctx.tracking.nonce)
      this.reached.add('reset')
    }
    if (ev.kind === 'opsRechecked' && phase === 'rechecking') this.reached.add('recheck')
    if (ev.kind === 'sendResult' && phase === 'sending' && this.lastSend && ev.hash) {
      const r = ev.result
      const held = r.kind === 'sent' || r.error === 'already_known' || r.error === 'unavailable'
      if (held) {
        this.opsOf.set(ev.hash, this.lastSend.opHashes)
        this.hold(this.lastSend.nonce, ev.hash, this.lastSend.fees)
      }
      // The node took (or may hold) the probe, or refused it: no further probe without a new abandonment.
      if (held || (r.kind === 'error' && r.error === 'replacement_underpriced')) this.probeAllowed = false
      if (r.kind === 'error' && r.error === 'nonce_too_low' && this.lastSend.nonce >= this.chainAtLeast)
        this.needsChainCheck = true
      if (r.kind === 'error' && r.error === 'replacement_underpriced')
        this.refuse(this.lastSend.nonce, this.lastSend.fees)
    }
    if (
      ev.kind === 'cancelResult' &&
      prev.tag === 'Cancelling' &&
      prev.phase.kind === 'submitting' &&
      this.lastCancel
    ) {
      const r = ev.result
      if (r.kind === 'hard') this.hold(this.lastCancel.nonce, r.hash, this.lastCancel.fees)
      if (r.kind === 'error' && r.hash && (r.error === 'already_known' || r.error === 'unavailable'))
        this.hold(this.lastCancel.nonce, r.hash, this.lastCancel.fees)
      // A soft cancellation takes our tx off the relay: nothing of ours blocks the nonce any more.
      if (r.kind === 'soft') this.forget(this.lastCancel.nonce)
      if (r.kind === 'error' && r.error === 'nonce_too_low' && this.lastCancel.nonce >= this.chainAtLeast)
        this.needsChainCheck = true
      if (r.kind === 'error' && r.error === 'replacement_underpriced')
        this.refuse(this.lastCancel.nonce, this.lastCancel.fees)
    }
    if (ev.kind === 'newHead' && ev.update) {
      for (const x of ev.update.minedTxHashes) {
        const n = this.nonceOf.get(x)
        if (n !== undefined) {
          this.proven(n + 1n)
          this.needsChainCheck = false
        }
      }
      if (ev.update.nonce !== undefined) this.proven(ev.update.nonce + 1n)
    }
    if (
      ev.kind === 'nonceReset' &&
      ev.result.kind === 'ok' &&
      prev.tag === 'Building' &&
      phase === 'syncing'
    ) {
      this.needsChainCheck = false
      this.proven(ev.result.chainNonce)
      const n = ev.result.mined ? this.nonceOf.get(ev.result.mined.hash) : undefined
      if (n !== undefined) this.proven(n + 1n)
    }
  }
}
