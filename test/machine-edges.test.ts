import type { Hash } from 'viem'
import { describe, expect, it } from 'vitest'
import { DIAGRAM_EDGES, isAllowedMove } from '../src/builder/machine/edges.js'
import { start, transition } from '../src/builder/machine/transition.js'
import {
  DEFAULT_MACHINE_SETTINGS,
  type MachineSettings,
  type SenderEffect,
  type SenderEvent,
  type SenderState,
  type StateTag,
} from '../src/builder/machine/types.js'

import type { TxObservation } from '../src/builder/tracker/drop.js'
import { type Fees, replacementFloor as raiseFees } from '../src/chain/fee-math.js'

const h = (n: number): Hash => `0x${n.toString(16).padStart(64, '0')}`
const ADDR = '0x00000000000000000000000000000000000000aa' as const
const F: Fees = { maxFeePerGas: 100n, maxPriorityFeePerGas: 10n }
const OPS = [h(0xa1), h(0xa2)]
const S = DEFAULT_MACHINE_SETTINGS

/** A head; the driver attaches the receipts (successful) of our mined transactions. */
const head = (blockNumber: bigint, mined: Hash[] = [], nonce?: bigint): SenderEvent => ({
  kind: 'newHead',
  blockNumber,
  update: { address: ADDR, balance: 10n ** 18n, minedTxHashes: mined, nonce },
  receipts: mined.map((hash) => ({ hash, blockNumber, reverted: false })),
})
/** What the driver observed of `hash`: the relay says it will never be mined. */
const relayDropped = (hash: Hash): SenderEvent => ({
  kind: 'txObserved',
  hash,
  observation: { accepting: 'dropped' } satisfies TxObservation,
})

function run(events: SenderEvent[], settings: MachineSettings = S, mode: 'auto' | 'manual' = 'manual') {
  let { state } = start(mode)
  let effects: SenderEffect[] = []
  for (const ev of events) {
    const step = transition(state, ev, settings)
    state = step.state
    effects = step.effects
  }
  return { state, effects }
}

// Manual mode keeps the scripts short: blocks do not trigger builds.
const synced: SenderEvent[] = [{ kind: 'nonceReset', result: { kind: 'ok', chainNonce: 5n } }, head(100n)]
const proposing: SenderEvent[] = [...synced, { kind: 'trigger', source: 'manual' }]
const sending: SenderEvent[] = [
  ...proposing,
  { kind: 'proposal', result: { kind: 'bundle', opHashes: OPS, fees: F } },
]
const pending: SenderEvent[] = [...sending, { kind: 'sendResult', hash: h(1), result: { kind: 'sent' } }]
// Timed out at 102 (sent at 100, wait 2): the replacement at the floor F1 is refused as
// "replacement underpriced" (floor F2 over it); at F2 the ops are priced out: the underpriced
// meta-state, first met at 102; met again at 123 (> 20 blocks later): cancellation.
const F1 = raiseFees(F, 10)
const F2 = raiseFees(F1, 10)
const pricedOut = { kind: 'proposal', result: { kind: 'none', reason: 'priced_out' } } as const
const refused: SenderEvent[] = [
  ...pending,
  head(102n),
  { kind: 'proposal', result: { kind: 'bundle', opHashes: OPS, fees: F } },
  { kind: 'sendResult', hash: h(3), result: { kind: 'error', error: 'replacement_underpriced' } },
]
const cancelling: SenderEvent[] = [
  ...refused,
  pricedOut,
  head(123n),
  { kind: 'trigger', source: 'manual' },
  pricedOut,
]
const cancelPending: SenderEvent[] = [
  ...cancelling,
  { kind: 'cancelResult', result: { kind: 'hard', hash: h(2) } },
]

const kinds = (effects: SenderEffect[]) => effects.map((e) => e.kind)
const find = <K extends SenderEffect['kind']>(effects: SenderEffect[], kind: K) =>
  effects.find((e): e is Extract<SenderEffect, { kind: K }> => e.kind === kind)

interface Row {
  edge: string
  from: StateTag
  to: StateTag
  setup: SenderEvent[]
  event: SenderEvent
  settings?: MachineSettings
  check?: (state: SenderState, effects: SenderEffect[]) => void
}

const rows: Row[] = [
  {
    edge: 'no operations',
    from: 'Building',
    to: 'Building',
    setup: proposing,
    event: { kind: 'proposal', result: { kind: 'none', reason: 'no_ops' } },
    check: (s, e) => {
      expect(s.tag === 'Building' && s.phase.kind).toBe('idle')
      expect(kinds(e)).not.toContain('send')
    },
  },
  {
    edge: 'no operations (condition not met: the re-check removed none)',
    from: 'Building',
    to: 'Building',
    setup: [
      ...sending,
      { kind: 'sendResult', hash: h(1), result: { kind: 'error', error: 'condition_not_met' } },
    ],
    event: { kind: 'opsRechecked', removed: 0 },
    check: (s, e) => {
      expect(s.tag === 'Building' && s.phase.kind).toBe('idle')
      expect(kinds(e)).not.toContain('propose')
    },
  },
  {
    edge: 'bundle submitted',
    from: 'Building',
    to: 'Pending',
    setup: sending,
    event: { kind: 'sendResult', hash: h(1), result: { kind: 'sent' } },
    check: (s) => {
      expect(s.tag === 'Pending' && s.untilBlock).toBe(102n)
      expect(s.ctx.tracking.txs.map((t) => t.hash)).toEqual([h(1)])
    },
  },
  {
    edge: 'bundle submitted (already known)',
    from: 'Building',
    to: 'Pending',
    setup: sending,
    event: { kind: 'sendResult', hash: h(1), result: { kind: 'error', error: 'already_known' } },
  },
  {
    edge: 'bundle mined',
    from: 'Pending',
    to: 'Building',
    setup: pending,
    event: head(101n, [h(1)], 5n),
    check: (s, e) => {
      expect(find(e, 'removeOps')).toEqual({ kind: 'removeOps', txHash: h(1), opHashes: OPS })
      expect(s.ctx.tracking).toEqual({ nonce: 6n, txs: [] })
      expect(s.tag === 'Building' && s.last?.kind).toBe('mined')
    },
  },
  {
    edge: 'bundle dropped',
    from: 'Pending',
    to: 'Building',
    setup: pending,
    event: relayDropped(h(1)),
    check: (s, e) => {
      expect(find(e, 'propose')).toMatchObject({ nonce: 5n, feeFloor: raiseFees(F, 10), feeIncreases: 1 })
      expect(s.tag === 'Building' && s.last?.kind).toBe('dropped')
      expect(kinds(e)).not.toContain('removeOps')
    },
  },
  {
    edge: 'bundle abandoned (not mined in time)',
    from: 'Pending',
    to: 'Building',
    setup: pending,
    event: head(102n),
    check: (s, e) => {
      expect(find(e, 'propose')).toMatchObject({
        nonce: 5n,
        feeFloor: { maxFeePerGas: 110n, maxPriorityFeePerGas: 11n },
      })
      expect(s.tag === 'Building' && s.phase.kind).toBe('proposing')
    },
  },
  {
    edge: 'bundle abandoned (nonce used by another tx)',
    from: 'Pending',
    to: 'Building',
    setup: pending,
    event: head(101n, [h(0xee)], 5n),
    check: (s, e) => {
      expect(find(e, 'resetNonce')).toEqual({ kind: 'resetNonce', checkHashes: [h(1)] })
      expect(kinds(e)).not.toContain('removeOps')
      expect(s.tag === 'Building' && s.phase.kind).toBe('syncing')
    },
  },
  {
    edge: 'cancel triggered',
    from: 'Building',
    to: 'Cancelling',
    setup: cancelling.slice(0, -1),
    event: pricedOut,
    check: (_s, e) => {
      expect(find(e, 'cancel')).toEqual({
        kind: 'cancel',
        nonce: 5n,
        fees: F2,
        txHash: h(1),
        feeIncreases: 0,
      })
    },
  },
  {
    edge: 'hard cancellation submitted',
    from: 'Cancelling',
    to: 'CancelPending',
    setup: cancelling,
    event: { kind: 'cancelResult', result: { kind: 'hard', hash: h(2) } },
    check: (s) => {
      expect(s.tag === 'CancelPending' && s.untilBlock).toBe(125n)
      expect(s.ctx.tracking.floor).toEqual(raiseFees(F2, 10))
    },
  },
  {
    edge: 'soft cancellation completed',
    from: 'Cancelling',
    to: 'Building',
    setup: cancelling,
    event: { kind: 'cancelResult', result: { kind: 'soft' } },
    check: (s) => {
      expect(s.ctx.tracking).toEqual({ nonce: 5n, txs: [] })
      expect(s.tag === 'Building' && s.underpriced).toBeUndefined()
    },
  },
  {
    edge: 'cancellation dropped',
    from: 'CancelPending',
    to: 'Cancelling',
    setup: cancelPending,
    event: relayDropped(h(2)),
    check: (s, e) => {
      expect(find(e, 'cancel')).toMatchObject({ fees: raiseFees(F2, 10), feeIncreases: 1 })
      expect(s.tag === 'Cancelling' && s.cancelFeeIncreases).toBe(1)
    },
  },
  {
    edge: 'cancellation abandoned (not mined in time)',
    from: 'CancelPending',
    to: 'Cancelling',
    setup: cancelPending,
    event: head(125n),
    check: (_s, e) => expect(find(e, 'cancel')?.feeIncreases).toBe(1),
  },
  {
    edge: 'cancellation mined',
    from: 'CancelPending',
    to: 'Building',
    setup: cancelPending,
    event: head(124n, [h(2)], 5n),
    check: (s, e) => {
      expect(kinds(e)).not.toContain('removeOps')
      expect(s.ctx.tracking).toEqual({ nonce: 6n, txs: [] })
      expect(s.tag === 'Building' && s.last).toEqual({ kind: 'cancelled', how: 'hard_mined' })
    },
  },
  {
    edge: 'cancellation aborted after max fee increases',
    from: 'CancelPending',
    to: 'Building',
    setup: cancelPending,
    settings: { ...S, maxCancellationFeeIncreases: 0 },
    event: head(125n),
    check: (s, e) => {
      expect(kinds(e)).not.toContain('cancel')
      expect(find(e, 'resetNonce')?.checkHashes).toEqual([h(1), h(2)])
      expect(s.tag === 'Building' && s.phase).toMatchObject({ kind: 'syncing', reset: true })
      expect(s.tag === 'Building' && s.feeIncreases).toBe(0)
      expect(s.tag === 'Building' && s.underpriced).toBeUndefined()
      // "Reset internal state": the nonce read answers; nothing of the episode is kept.
      const after = transition(s, { kind: 'nonceReset', result: { kind: 'ok', chainNonce: 5n } }, S)
      expect(after.state.ctx.tracking).toEqual({ nonce: 5n, txs: [] })
    },
  },
]

describe('bundle sender: every edge of the seed diagram', () => {
  it.each(rows)('$from → $to: $edge', (row) => {
    const settings = row.settings ?? S
    const before = run(row.setup, settings)
    expect(before.state.tag).toBe(row.from)
    const step = transition(before.state, row.event, settings)
    expect(step.state.tag).toBe(row.to)
    expect(isAllowedMove(row.from, row.to)).toBe(true)
    row.check?.(step.state, step.effects)
  })

  it('the table covers every diagram edge', () => {
    const covered = new Set(rows.map((r) => `${r.from}>${r.to}`))
    for (const [a, b] of DIAGRAM_EDGES) expect(covered.has(`${a}>${b}`), `${a}→${b}`).toBe(true)
  })

  it('lists exactly the eight edges of the diagram', () => {
    expect(DIAGRAM_EDGES.map(([a, b]) => `${a}>${b}`).sort()).toEqual(
      [
        'Building>Building',
        'Building>Pending',
        'Pending>Building',
        'Building>Cancelling',
        'Cancelling>CancelPending',
        'Cancelling>Building',
        'CancelPending>Cancelling',
        'CancelPending>Building',
      ].sort(),
    )
    expect(isAllowedMove('Pending', 'Cancelling')).toBe(false)
    expect(isAllowedMove('Pending', 'CancelPending')).toBe(false)
    expect(isAllowedMove('Building', 'CancelPending')).toBe(false)
  })
})

describe('bundle sender: triggers', () => {
  it('auto mode builds on a new block; manual mode does not', () => {
    const auto = run([{ kind: 'nonceReset', result: { kind: 'ok', chainNonce: 0n } }, head(1n)], S, 'auto')
    expect(auto.state.tag === 'Building' && auto.state.phase.kind).toBe('proposing')
    expect(find(auto.effects, 'propose')).toMatchObject({ nonce: 0n, feeFloor: undefined })
    const manual = run(
      [{ kind: 'nonceReset', result: { kind: 'ok', chainNonce: 0n } }, head(1n)],
      S,
      'manual',
    )
    expect(manual.state.tag === 'Building' && manual.state.phase.kind).toBe('idle')
  })

  it('the timer triggers in auto mode only', () => {
    const base: SenderEvent[] = [{ kind: 'nonceReset', result: { kind: 'ok', chainNonce: 0n } }]
    const auto = run([...base, { kind: 'trigger', source: 'timer' }], S, 'auto')
    expect(kinds(auto.effects)).toContain('propose')
    const manual = run([...base, { kind: 'trigger', source: 'timer' }], S, 'manual')
    expect(kinds(manual.effects)).not.toContain('propose')
  })

  it('sendBundleNow callers are told when the bundle is mined', () => {
    const { effects } = run([...pending, head(101n, [h(1)], 5n)])
    expect(find(effects, 'notify')).toEqual({
      kind: 'notify',
      result: { kind: 'mined', txHash: h(1), blockNumber: 101n },
    })
  })

  it('a trigger while proposing does not start a second proposal', () => {
    const { effects, state } = run([...proposing, { kind: 'trigger', source: 'manual' }])
    expect(kinds(effects)).not.toContain('propose')
    expect(state.ctx.waiters).toBe(2)
  })

  it('a trigger during the start-up nonce read builds once the nonce is known', () => {
    const s = run([{ kind: 'trigger', source: 'manual' }])
    expect(kinds(s.effects)).not.toContain('propose')
    const after = transition(s.state, { kind: 'nonceReset', result: { kind: 'ok', chainNonce: 3n } }, S)
    expect(find(after.effects, 'propose')?.nonce).toBe(3n)
  })
})
