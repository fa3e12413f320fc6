import type { Hash } from 'viem'
import { describe, expect, it } from 'vitest'
import { start, transition } from '../src/builder/machine/transition.js'
import {
  DEFAULT_MACHINE_SETTINGS,
  type SenderEffect,
  type SenderEvent,
  type SenderState,
} from '../src/builder/machine/types.js'
import type { Fees } from '../src/chain/fee-math.js'

/**
 * Pure regression tests for the two machine changes the real-chain scenarios (sender-chain.test.ts)
 * revealed: the wait for mining counts from the chain's block at submission, and a replacement
 * that finds no bundle asks the chain before answering sendBundleNow.
 */
const h = (n: number): Hash => `0x${n.toString(16).padStart(64, '0')}`
const ADDR = '0x00000000000000000000000000000000000000aa' as const
const F: Fees = { maxFeePerGas: 100n, maxPriorityFeePerGas: 10n }
const OPS = [h(0xa1)]

const head = (blockNumber: bigint, mined: Hash[] = [], nonce?: bigint): SenderEvent => ({
  kind: 'newHead',
  blockNumber,
  update: { address: ADDR, balance: 10n ** 18n, minedTxHashes: mined, nonce },
})

function run(events: SenderEvent[]): { state: SenderState; effects: SenderEffect[]; all: SenderEffect[] } {
  let { state, effects } = start('manual')
  const all = [...effects]
  for (const ev of events) {
    ;({ state, effects } = transition(state, ev, DEFAULT_MACHINE_SETTINGS))
    all.push(...effects)
  }
  return { state, effects, all }
}

const synced: SenderEvent[] = [{ kind: 'nonceReset', result: { kind: 'ok', chainNonce: 5n } }, head(100n)]
const sending: SenderEvent[] = [
  ...synced,
  { kind: 'trigger', source: 'manual' },
  { kind: 'proposal', result: { kind: 'bundle', opHashes: OPS, fees: F } },
]

describe('the wait for mining starts at the submission block', () => {
  it('a head seen late (pool lag) does not count: atBlock 103 → replace from 105 on, not 102', () => {
    const sent = [
      ...sending,
      { kind: 'sendResult', hash: h(1), result: { kind: 'sent' }, atBlock: 103n } as const,
    ]
    const p = run(sent).state
    expect(p.tag === 'Pending' && p.untilBlock).toBe(105n)
    // The lagging heads of blocks mined before the submission arrive: still Pending.
    expect(run([...sent, head(101n), head(102n), head(103n), head(104n)]).state.tag).toBe('Pending')
    const late = run([...sent, head(101n), head(102n), head(103n), head(104n), head(105n)])
    expect(late.state.tag).toBe('Building')
    expect(late.effects.map((e) => e.kind)).toContain('propose')
  })

  it('an atBlock behind the last head changes nothing (the head is newer)', () => {
    const p = run([
      ...sending,
      { kind: 'sendResult', hash: h(1), result: { kind: 'sent' }, atBlock: 90n },
    ]).state
    expect(p.tag === 'Pending' && p.untilBlock).toBe(102n)
  })

  it('a hard cancellation waits from its submission block too', () => {
    const cancelling: SenderEvent[] = [
      ...sending,
      { kind: 'sendResult', hash: h(1), result: { kind: 'sent' } },
      head(102n),
      { kind: 'proposal', result: { kind: 'bundle', opHashes: OPS, fees: F } },
      { kind: 'sendResult', hash: h(3), result: { kind: 'error', error: 'replacement_underpriced' } },
      { kind: 'proposal', result: { kind: 'none', reason: 'priced_out' } },
      head(123n),
      { kind: 'trigger', source: 'manual' },
      { kind: 'proposal', result: { kind: 'none', reason: 'priced_out' } },
    ]
    expect(run(cancelling).state.tag).toBe('Cancelling')
    const s = run([
      ...cancelling,
      { kind: 'cancelResult', result: { kind: 'hard', hash: h(2) }, atBlock: 130n },
    ]).state
    expect(s.tag === 'CancelPending' && s.untilBlock).toBe(132n)
  })
})

describe('a replacement that finds no bundle', () => {
  // Sent at 100, not mined by 102: the replacement proposal finds the ops gone (ours got mined).
  const replacing: SenderEvent[] = [
    ...sending,
    { kind: 'sendResult', hash: h(1), result: { kind: 'sent' } },
    head(102n),
  ]

  for (const result of [
    { kind: 'none', reason: 'all_rejected' },
    { kind: 'none', reason: 'no_ops' },
    { kind: 'error', message: 'node down' },
  ] as const) {
    it(`${result.kind}${'reason' in result ? ` (${result.reason})` : ''}: asks the chain first; mined → waiters hear mined`, () => {
      const asked = run([...replacing, { kind: 'proposal', result }])
      expect(asked.state.tag === 'Building' && asked.state.phase.kind).toBe('syncing')
      expect(asked.effects).toContainEqual({ kind: 'resetNonce', checkHashes: [h(1)] })
      expect(asked.effects.map((e) => e.kind)).not.toContain('notify')

      const answered = run([
        ...replacing,
        { kind: 'proposal', result },
        {
          kind: 'nonceReset',
          result: { kind: 'ok', chainNonce: 6n, mined: { hash: h(1), blockNumber: 103n, reverted: false } },
        },
      ])
      expect(answered.effects).toContainEqual({
        kind: 'notify',
        result: { kind: 'mined', txHash: h(1), blockNumber: 103n },
      })
      expect(answered.effects).toContainEqual({ kind: 'removeOps', txHash: h(1), opHashes: OPS })
      expect(answered.state.ctx.tracking.nonce).toBe(6n)
    })
  }

  it('nothing of ours mined: the no-bundle answer is given after the check, and the tx stays tracked', () => {
    const r = run([
      ...replacing,
      { kind: 'proposal', result: { kind: 'none', reason: 'no_ops' } },
      { kind: 'nonceReset', result: { kind: 'ok', chainNonce: 5n } },
    ])
    expect(r.effects).toContainEqual({ kind: 'notify', result: { kind: 'no_bundle', reason: 'no_ops' } })
    expect(r.state.tag === 'Building' && r.state.phase.kind).toBe('idle')
    expect(r.state.ctx.tracking.txs.map((t) => t.hash)).toEqual([h(1)])
  })

  it('a failed check is retried on the next head and still carries the answer', () => {
    const r = run([
      ...replacing,
      { kind: 'proposal', result: { kind: 'none', reason: 'no_ops' } },
      { kind: 'nonceReset', result: { kind: 'error', message: 'timeout' } },
      head(103n),
      { kind: 'nonceReset', result: { kind: 'ok', chainNonce: 5n } },
    ])
    expect(r.effects).toContainEqual({ kind: 'notify', result: { kind: 'no_bundle', reason: 'no_ops' } })
  })

  it('with nothing in flight (a fresh build) the answer is immediate, no extra chain read', () => {
    const r = run([
      ...synced,
      { kind: 'trigger', source: 'manual' },
      { kind: 'proposal', result: { kind: 'none', reason: 'no_ops' } },
    ])
    expect(r.effects).toContainEqual({ kind: 'notify', result: { kind: 'no_bundle', reason: 'no_ops' } })
    expect(r.effects.map((e) => e.kind)).not.toContain('resetNonce')
  })
})
