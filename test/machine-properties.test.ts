/**
 * Property tests of the sender machine over random event sequences. A small interpreter turns
 * abstract commands into events that fit what the machine last asked for (or deliberately don't),
 * and an oracle, fed only events and effects, checks the invariants after every step.
 */
import fc from 'fast-check'
import type { Hash } from 'viem'
import { describe, expect, it } from 'vitest'
import { DIAGRAM_EDGES, isAllowedMove } from '../src/builder/machine/edges.js'
import { start, transition } from '../src/builder/machine/transition.js'
import type {
  MachineSettings,
  NoBundleReason,
  SenderEffect,
  SenderEvent,
  SenderState,
} from '../src/builder/machine/types.js'
import type { SendErrorKind } from '../src/builder/submit/outcome.js'
import type { TxStatus } from '../src/builder/submit/types.js'
import { maxFees, meetsFloor } from '../src/builder/tracker/fee-floor.js'
import { type Fees, replacementFloor as raiseFees } from '../src/chain/fee-math.js'

const ADDR = '0x00000000000000000000000000000000000000aa' as const
const SEND_ERRORS: SendErrorKind[] = [
  'replacement_underpriced',
  'nonce_too_low',
  'underpriced',
  'already_known',
  'insufficient_funds',
  'intrinsic_gas_too_low',
  'condition_not_met',
  'unavailable',
  'rejected',
]
const REASONS: NoBundleReason[] = [
  'no_ops',
  'priced_out',
  'all_rejected',
  'unprofitable',
  'insufficient_balance',
]

type Cmd =
  | { t: 'trigger'; source: 'timer' | 'manual' }
  | { t: 'head'; kind: 'plain' | 'mineOurs' | 'mineOld' | 'nonceTaken' | 'reorg'; pick: number; skip: number }
  | {
      t: 'proposal'
      kind: 'bundle' | 'none' | 'error'
      nOps: number
      reason: NoBundleReason
      fee: bigint
      tip: bigint
    }
  | { t: 'send'; outcome: 'sent' | SendErrorKind }
  | {
      t: 'observed'
      which: 'latest' | 'cancel' | 'random'
      accepting: TxStatus
      knows: boolean
      moved: boolean
    }
  | { t: 'rechecked'; removed: number }
  | { t: 'cancel'; outcome: 'hard' | 'soft' | SendErrorKind; withHash: boolean }
  | { t: 'nonceReset'; kind: 'ok' | 'mined' | 'error'; delta: number; pick: number }
  | { t: 'mode'; mode: 'auto' | 'manual' }
  /** Reply to whatever the machine is waiting on; `pick` chooses the outcome. */
  | { t: 'answer'; pick: number; nOps: number; fee: bigint; tip: bigint }

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('trigger' as const),
      source: fc.constantFrom('timer' as const, 'manual' as const),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('head' as const),
      kind: fc.constantFrom(
        'plain',
        'plain',
        'plain',
        'mineOurs',
        'mineOld',
        'nonceTaken',
        'reorg',
      ) as fc.Arbitrary<'plain' | 'mineOurs' | 'mineOld' | 'nonceTaken' | 'reorg'>,
      pick: fc.nat(8),
      skip: fc.integer({ min: 1, max: 4 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('proposal' as const),
      kind: fc.constantFrom('bundle', 'bundle', 'none', 'error') as fc.Arbitrary<'bundle' | 'none' | 'error'>,
      nOps: fc.integer({ min: 0, max: 3 }),
      reason: fc.constantFrom<NoBundleReason>(...REASONS, 'priced_out', 'priced_out'),
      fee: fc.bigInt({ min: 1n, max: 500n }),
      tip: fc.bigInt({ min: 0n, max: 100n }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('send' as const),
      outcome: fc.constantFrom<'sent' | SendErrorKind>('sent', 'sent', ...SEND_ERRORS),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('observed' as const),
      which: fc.constantFrom('latest', 'cancel', 'random') as fc.Arbitrary<'latest' | 'cancel' | 'random'>,
      accepting: fc.constantFrom<TxStatus>('pending', 'included', 'dropped', 'missing', 'unknown'),
      knows: fc.boolean(),
      moved: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('rechecked' as const), removed: fc.integer({ min: 0, max: 2 }) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('cancel' as const),
      outcome: fc.constantFrom<'hard' | 'soft' | SendErrorKind>('hard', 'hard', 'soft', ...SEND_ERRORS),
      withHash: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('nonceReset' as const),
      kind: fc.constantFrom('ok', 'mined', 'error') as fc.Arbitrary<'ok' | 'mined' | 'error'>,
      delta: fc.integer({ min: 0, max: 2 }),
      pick: fc.nat(8),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('mode' as const),
      mode: fc.constantFrom('auto' as const, 'manual' as const),
    }),
  },
  {
    weight: 14,
    arbitrary: fc.record({
      t: fc.constant('answer' as const),
      pick: fc.nat(1000),
      nOps: fc.integer({ min: 1, max: 3 }),
      fee: fc.bigInt({ min: 1n, max: 500n }),
      tip: fc.bigInt({ min: 0n, max: 100n }),
    }),
  },
)

const settingsArb: fc.Arbitrary<MachineSettings> = fc.record({
  maxBlocksToWaitForMine: fc.integer({ min: 1, max: 3 }),
  replacementFeePercentIncrease: fc.integer({ min: 1, max: 50 }),
  maxCancellationFeeIncreases: fc.integer({ min: 0, max: 3 }),
  maxReplacementUnderpricedBlocks: fc.integer({ min: 0, max: 5 }),
  dropGraceBlocks: fc.integer({ min: 0, max: 2 }),
})

/** What the "world" (the chain, the node, the driver) remembers: used to make plausible events. */
interface World {
  n: number
  head: bigint
  /** Every tx hash we signed, with its nonce. */
  signed: Map<Hash, bigint>
  /** The answer-bearing effect the machine is waiting on. */
  outstanding?: SenderEffect
  /** The chain's nonce as the blocks so far made it (a nonce read never goes below it). */
  chainNonce: bigint
}

const hashOf = (n: number): Hash => `0x${n.toString(16).padStart(64, '0')}`
function fresh(w: World): Hash {
  w.n += 1
  return hashOf(w.n)
}

/** Turn a command into an event, using what the machine and the world look like now. */
function toEvent(cmd: Cmd, s: SenderState, w: World): SenderEvent {
  const t = s.ctx.tracking
  switch (cmd.t) {
    case 'trigger':
      return { kind: 'trigger', source: cmd.source }
    case 'mode':
      return { kind: 'setMode', mode: cmd.mode }
    case 'answer':
      return toEvent(answerFor(cmd, w.outstanding?.kind), s, w)
    case 'head': {
      if (cmd.kind === 'reorg') {
        w.head = w.head - BigInt(cmd.skip % 2)
        return { kind: 'newHead', blockNumber: w.head }
      }
      w.head += BigInt(cmd.skip)
      const update = {
        address: ADDR,
        balance: 1n,
        minedTxHashes: [] as Hash[],
        nonce: undefined as bigint | undefined,
      }
      if (cmd.kind === 'mineOurs' && t.txs.length > 0) {
        update.minedTxHashes = [t.txs[cmd.pick % t.txs.length]!.hash]
        // The driver attaches the receipt (it may fail to read one, or the bundle may have reverted).
        if (cmd.pick % 4 !== 0) {
          const receipts = [
            { hash: update.minedTxHashes[0]!, blockNumber: w.head, reverted: cmd.pick % 4 === 1 },
          ]
          if (t.nonce + 1n > w.chainNonce) w.chainNonce = t.nonce + 1n
          return { kind: 'newHead', blockNumber: w.head, update: { ...update, nonce: t.nonce }, receipts }
        }
        update.nonce = t.nonce
        if (t.nonce + 1n > w.chainNonce) w.chainNonce = t.nonce + 1n
      } else if (cmd.kind === 'mineOld' && w.signed.size > 0) {
        const old = [...w.signed.entries()].filter(([, nonce]) => nonce < t.nonce)
        const pick = old[cmd.pick % Math.max(old.length, 1)]
        if (pick) {
          update.minedTxHashes = [pick[0]]
          update.nonce = pick[1]
        }
      } else if (cmd.kind === 'nonceTaken') {
        update.minedTxHashes = [fresh(w)]
        update.nonce = t.nonce + BigInt(cmd.pick % 2)
        if (update.nonce + 1n > w.chainNonce) w.chainNonce = update.nonce + 1n
      }
      return { kind: 'newHead', blockNumber: w.head, update }
    }
    case 'proposal': {
      if (cmd.kind === 'error') return { kind: 'proposal', result: { kind: 'error', message: 'rpc timeout' } }
      if (cmd.kind === 'none') return { kind: 'proposal', result: { kind: 'none', reason: cmd.reason } }
      const opHashes = Array.from({ length: cmd.nOps }, () => fresh(w))
      const fees: Fees = { maxFeePerGas: cmd.fee + cmd.tip, maxPriorityFeePerGas: cmd.tip }
      return { kind: 'proposal', result: { kind: 'bundle', opHashes, fees } }
    }
    case 'send': {
      const hash = fresh(w)
      if (w.outstanding?.kind === 'send') w.signed.set(hash, w.outstanding.nonce)
      return {
        kind: 'sendResult',
        hash,
        result: cmd.outcome === 'sent' ? { kind: 'sent' } : { kind: 'error', error: cmd.outcome },
      }
    }
    case 'observed': {
      const hash =
        cmd.which === 'latest' && t.txs.length > 0
          ? t.txs[t.txs.length - 1]!.hash
          : cmd.which === 'cancel' && s.tag === 'CancelPending'
            ? s.cancelHash
            : fresh(w)
      const chainNonce = cmd.moved ? t.nonce + 1n : t.nonce
      return {
        kind: 'txObserved',
        hash,
        observation: { accepting: cmd.accepting, node: { knows: cmd.knows, chainNonce } },
      }
    }
    case 'rechecked':
      return { kind: 'opsRechecked', removed: cmd.removed }
    case 'cancel': {
      if (cmd.outcome === 'soft') return { kind: 'cancelResult', result: { kind: 'soft' } }
      const hash = fresh(w)
      if (w.outstanding?.kind === 'cancel') w.signed.set(hash, w.outstanding.nonce)
      if (cmd.outcome === 'hard') return { kind: 'cancelResult', result: { kind: 'hard', hash } }
      return {
        kind: 'cancelResult',
        result: { kind: 'error', error: cmd.outcome, hash: cmd.withHash ? hash : undefined },
      }
    }
    case 'nonceReset': {
      if (cmd.kind === 'error') return { kind: 'nonceReset', result: { kind: 'error', message: 'timeout' } }
      const checks = w.outstanding?.kind === 'resetNonce' ? w.outstanding.checkHashes : []
      const atLeast = (n: bigint) => {
        if (n > w.chainNonce) w.chainNonce = n
        return w.chainNonce
      }
      if (cmd.kind === 'mined' && checks.length > 0) {
        const hash = checks[cmd.pick % checks.length]!
        const chainNonce = atLeast(t.nonce + 1n + BigInt(cmd.delta % 2))
        const mined = { hash, gasUsed: 21000n, reverted: cmd.pick % 3 === 0 }
        return { kind: 'nonceReset', result: { kind: 'ok', chainNonce, mined } }
      }
      // The chain's nonce never goes below what blocks proved (reorgs are a separate command).
      return { kind: 'nonceReset', result: { kind: 'ok', chainNonce: atLeast(t.nonce + BigInt(cmd.delta)) } }
    }
  }
}

/** The command that answers `outstanding`, with a spread of outcomes. */
function answerFor(a: Extract<Cmd, { t: 'answer' }>, outstanding: SenderEffect['kind'] | undefined): Cmd {
  const p = a.pick
  switch (outstanding) {
    case 'propose': {
      const k = p % 10
      if (k < 5)
        return { t: 'proposal', kind: 'bundle', nOps: a.nOps, reason: 'no_ops', fee: a.fee, tip: a.tip }
      if (k < 8) return { t: 'proposal', kind: 'none', nOps: 0, reason: 'priced_out', fee: a.fee, tip: a.tip }
      if (k < 9) return { t: 'proposal', kind: 'none', nOps: 0, reason: 'no_ops', fee: a.fee, tip: a.tip }
      return { t: 'proposal', kind: 'error', nOps: 0, reason: 'no_ops', fee: a.fee, tip: a.tip }
    }
    case 'send': {
      const k = p % 14
      return { t: 'send', outcome: k < 5 ? 'sent' : SEND_ERRORS[k - 5]! }
    }
    case 'cancel': {
      const k = p % 13
      const outcome = k < 3 ? 'hard' : k === 3 ? 'soft' : SEND_ERRORS[k - 4]!
      return { t: 'cancel', outcome, withHash: p % 2 === 0 }
    }
    case 'recheckOps':
      return { t: 'rechecked', removed: p % 3 }
    case 'resetNonce': {
      const k = p % 6
      if (k === 3) return { t: 'nonceReset', kind: 'mined', delta: p % 2, pick: p }
      if (k === 4) return { t: 'nonceReset', kind: 'error', delta: 0, pick: p }
      return { t: 'nonceReset', kind: 'ok', delta: k < 2 ? 0 : k === 2 ? 1 : 2, pick: p }
    }
    default:
      // Nothing outstanding: let a block pass (it is the auto-mode trigger).
      return { t: 'head', kind: p % 7 === 0 ? 'mineOurs' : 'plain', pick: p, skip: 1 + (p % 3) }
  }
}

/** A cheap assertion for the hot loop (vitest's expect is slow over ~100k steps). */
function ok(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg)
}

const ANSWERED = new Set(['propose', 'send', 'cancel', 'resetNonce', 'recheckOps'])
const answers: Record<string, SenderEvent['kind']> = {
  propose: 'proposal',
  send: 'sendResult',
  cancel: 'cancelResult',
  resetNonce: 'nonceReset',
  recheckOps: 'opsRechecked',
}

/** The oracle: invariants checked from events and effects only. */
class Oracle {
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

function runSequence(
  settings: MachineSettings,
  mode: 'auto' | 'manual',
  cmds: Cmd[],
  oracle = new Oracle(settings),
) {
  const w: World = { n: 1000, head: 100n, signed: new Map(), chainNonce: 0n }
  let { state, effects } = start(mode)
  const remember = (effs: SenderEffect[]) => {
    for (const e of effs) if (ANSWERED.has(e.kind)) w.outstanding = e
  }
  remember(effects)
  for (const cmd of cmds) {
    const ev = toEvent(cmd, state, w)
    if (w.outstanding && answers[w.outstanding.kind] === ev.kind) w.outstanding = undefined
    const step = transition(state, ev, settings)
    oracle.check(state, ev, step.state, step.effects)
    remember(step.effects)
    state = step.state
  }
  return { oracle }
}

describe('bundle sender: invariants over random event sequences', () => {
  const edgesSeen = new Set<string>()
  const reached = new Set<string>()

  it('holds every invariant', () => {
    fc.assert(
      fc.property(
        settingsArb,
        fc.constantFrom('auto' as const, 'manual' as const),
        fc.array(cmdArb, { minLength: 20, maxLength: 200, size: 'max' }),
        (settings, mode, cmds) => {
          const { oracle } = runSequence(settings, mode, cmds)
          for (const e of oracle.edges) edgesSeen.add(e)
          for (const r of oracle.reached) reached.add(r)
        },
      ),
      // Replay a failure with SEED=<seed> FCPATH=<path> from fast-check's report.
      process.env.SEED
        ? { seed: Number(process.env.SEED), path: process.env.FCPATH, endOnFailure: true }
        : { numRuns: 600 },
    )
    // The generator must actually reach every edge, or the properties above prove little.
    for (const [a, b] of DIAGRAM_EDGES)
      expect(edgesSeen.has(`${a}>${b}`), `edge ${a}→${b} never exercised`).toBe(true)
    for (const r of ['probe', 'reset', 'recheck', 'dropped', 'underpriced'])
      expect(reached.has(r), `${r} never exercised`).toBe(true)
  })

  it('never throws and never leaves the diagram, whatever the event, in any reachable state', () => {
    // States × events: walk to many states, then throw every kind of event at each.
    fc.assert(
      fc.property(
        settingsArb,
        fc.array(cmdArb, { maxLength: 80, size: 'max' }),
        fc.array(cmdArb, { minLength: 20, maxLength: 20 }),
        (settings, walk, probes) => {
          const w: World = { n: 5000, head: 100n, signed: new Map(), chainNonce: 0n }
          let { state } = start('auto')
          for (const cmd of walk) state = transition(state, toEvent(cmd, state, w), settings).state
          for (const probe of probes) {
            const ev = toEvent(probe, state, { ...w, signed: new Map(w.signed) })
            const next = transition(state, ev, settings).state
            ok(
              isAllowedMove(state.tag, next.tag),
              `edge not in diagram: ${state.tag}→${next.tag} on ${ev.kind}`,
            )
          }
        },
      ),
      { numRuns: 300 },
    )
  })
})

describe('the oracle itself', () => {
  it('flags a send at nonce+1 while the old nonce is unresolved', () => {
    const settings: MachineSettings = {
      maxBlocksToWaitForMine: 2,
      replacementFeePercentIncrease: 10,
      maxCancellationFeeIncreases: 1,
      maxReplacementUnderpricedBlocks: 1,
      dropGraceBlocks: 1,
    }
    const o = new Oracle(settings)
    const { state } = start('manual')
    const f = { maxFeePerGas: 10n, maxPriorityFeePerGas: 1n }
    o.check(state, { kind: 'trigger', source: 'manual' }, state, [
      { kind: 'send', nonce: 1n, fees: f, opHashes: [] },
    ])
    if (state.tag !== 'Building') throw new Error('start is Building')
    const building: SenderState = { ...state, phase: { kind: 'sending', nonce: 1n, fees: f, opHashes: [] } }
    o.check(building, { kind: 'sendResult', hash: hashOf(1), result: { kind: 'sent' } }, state, [])
    expect(() =>
      o.check(state, { kind: 'trigger', source: 'manual' }, state, [
        { kind: 'send', nonce: 2n, fees: raiseFees(f, 10), opHashes: [] },
      ]),
    ).toThrow(/second nonce/)
    expect(() =>
      o.check(state, { kind: 'trigger', source: 'manual' }, state, [
        { kind: 'send', nonce: 1n, fees: f, opHashes: [] },
      ]),
    ).toThrow(/under the bump/)
  })
})
