/**
 * The world the sender machine's property tests run in: abstract commands (fast-check arbitraries)
 * and a small interpreter that turns them into events fitting what the machine last asked for (or
 * deliberately not). See machine-properties.test.ts.
 */
import fc from 'fast-check'
import type { Hash } from 'viem'
import type {
  MachineSettings,
  NoBundleReason,
  SenderEffect,
  SenderEvent,
  SenderState,
} from '../../src/builder/machine/types.js'
import type { SendErrorKind } from '../../src/builder/submit/outcome.js'
import type { TxStatus } from '../../src/builder/submit/types.js'
import type { Fees } from '../../src/chain/fee-math.js'

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

export type Cmd =
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

export const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
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

export const settingsArb: fc.Arbitrary<MachineSettings> = fc.record({
  maxBlocksToWaitForMine: fc.integer({ min: 1, max: 3 }),
  replacementFeePercentIncrease: fc.integer({ min: 1, max: 50 }),
  maxCancellationFeeIncreases: fc.integer({ min: 0, max: 3 }),
  maxReplacementUnderpricedBlocks: fc.integer({ min: 0, max: 5 }),
  dropGraceBlocks: fc.integer({ min: 0, max: 2 }),
})

/** What the "world" (the chain, the node, the driver) remembers: used to make plausible events. */
export interface World {
  n: number
  head: bigint
  /** Every tx hash we signed, with its nonce. */
  signed: Map<Hash, bigint>
  /** The answer-bearing effect the machine is waiting on. */
  outstanding?: SenderEffect
  /** The chain's nonce as the blocks so far made it (a nonce read never goes below it). */
  chainNonce: bigint
}

export const hashOf = (n: number): Hash => `0x${n.toString(16).padStart(64, '0')}`
export function fresh(w: World): Hash {
  w.n += 1
  return hashOf(w.n)
}

/** Turn a command into an event, using what the machine and the world look like now. */
export function toEvent(cmd: Cmd, s: SenderState, w: World): SenderEvent {
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
      // "Replacement underpriced" weighs more: it is the way into the meta-state and the cancellations.
      const k = p % 17
      if (k < 5) return { t: 'send', outcome: 'sent' }
      if (k < 8) return { t: 'send', outcome: 'replacement_underpriced' }
      return { t: 'send', outcome: SEND_ERRORS[k - 8]! }
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
