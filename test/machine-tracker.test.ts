/**
 * The transaction tracker's pure parts (builder/tracker/: bookkeeping, the drop verdict) and the
 * decisions that moved from the driver into the machine: a reverted or unread bundle keeps its
 * ops, "condition not met" re-checks and rebuilds, a send never signed, the abandoned bundle's probe.
 * Plus the EntryPoint rotation (a pure policy over the proposer's answers).
 */
import type { Address, Hash } from 'viem'
import { describe, expect, it } from 'vitest'
import type { Proposal } from '../src/builder/bundle.js'
import { EntryPointRotation } from '../src/builder/entry-point-rotation.js'
import { start, transition } from '../src/builder/machine/transition.js'
import {
  DEFAULT_MACHINE_SETTINGS,
  type SenderEffect,
  type SenderEvent,
  type SenderState,
} from '../src/builder/machine/types.js'
import type { ProposeRequest } from '../src/builder/proposer.js'
import { isDropped, type TxObservation } from '../src/builder/tracker/drop.js'
import { liftToFloor } from '../src/builder/tracker/fee-floor.js'
import {
  abandon,
  afterMined,
  feesForNext,
  newTracking,
  observeHead,
  recordReplacementUnderpriced,
  recordSent,
  resync,
} from '../src/builder/tracker/tracking.js'
import { type Fees, raiseByPercent, replacementFloor as raiseFees } from '../src/chain/fee-math.js'

const h = (n: number): Hash => `0x${n.toString(16).padStart(64, '0')}`
const ADDR = '0x00000000000000000000000000000000000000aa' as const
const S = DEFAULT_MACHINE_SETTINGS
const F: Fees = { maxFeePerGas: 1000n, maxPriorityFeePerGas: 100n }
const F1 = raiseFees(F, 10)
const OPS1 = [h(0xa1), h(0xa2)]
const OPS2 = [h(0xb1)]

function run(events: SenderEvent[]): { state: SenderState; effects: SenderEffect[] } {
  let { state, effects } = start('manual')
  for (const ev of events) ({ state, effects } = transition(state, ev, S))
  return { state, effects }
}
const one = <K extends SenderEffect['kind']>(effects: SenderEffect[], kind: K) =>
  effects.find((e): e is Extract<SenderEffect, { kind: K }> => e.kind === kind)
const head = (blockNumber: bigint, receipts: { hash: Hash; reverted?: boolean }[] = []): SenderEvent => ({
  kind: 'newHead',
  blockNumber,
  update: {
    address: ADDR,
    balance: 1n,
    minedTxHashes: receipts.map((r) => r.hash),
    nonce: receipts.length ? 5n : undefined,
  },
  receipts: receipts
    .filter((r) => r.reverted !== undefined)
    .map((r) => ({ ...r, hash: r.hash, blockNumber })),
})
const sending: SenderEvent[] = [
  { kind: 'nonceReset', result: { kind: 'ok', chainNonce: 5n } },
  head(100n),
  { kind: 'trigger', source: 'manual' },
  { kind: 'proposal', result: { kind: 'bundle', opHashes: OPS1, fees: F, entryPoint: ADDR } },
]
const pending: SenderEvent[] = [
  ...sending,
  { kind: 'sendResult', hash: h(1), result: { kind: 'sent' }, atBlock: 100n },
]

describe('a mined bundle: its ops leave the pool only on a successful receipt', () => {
  it('successful: removeOps with the bundle EntryPoint, and the histograms observed', () => {
    const { effects } = run([...pending, head(101n, [{ hash: h(1), reverted: false }])])
    expect(one(effects, 'removeOps')).toEqual({
      kind: 'removeOps',
      txHash: h(1),
      opHashes: OPS1,
      entryPoint: ADDR,
    })
    const measures = effects.filter((e) => e.kind === 'measure').map((e) => [e.name, e.value])
    expect(measures).toEqual([
      ['ops_per_bundle', 2],
      ['blocks_to_mine', 1],
    ])
  })

  it('reverted: nothing leaves the pool, an error is logged; the nonce still moves', () => {
    const { state, effects } = run([...pending, head(101n, [{ hash: h(1), reverted: true }])])
    expect(one(effects, 'removeOps')).toBeUndefined()
    expect(effects).toContainEqual(
      expect.objectContaining({
        kind: 'log',
        level: 'error',
        msg: 'bundle mined but reverted; its ops stay in the pool',
      }),
    )
    expect(state.ctx.tracking.nonce).toBe(6n)
  })

  it('receipt unread: nothing removed by the sender (the pool follows the EntryPoint events itself)', () => {
    const { state, effects } = run([...pending, head(101n, [{ hash: h(1) }])])
    expect(one(effects, 'removeOps')).toBeUndefined()
    expect(state.ctx.tracking.nonce).toBe(6n)
  })
})

describe('condition not met and unsigned sends', () => {
  const refused = {
    kind: 'sendResult',
    hash: h(1),
    result: { kind: 'error', error: 'condition_not_met' },
  } as const

  it('asks for a re-check; ops removed → a rebuild at once (also in manual mode)', () => {
    const asked = run([...sending, refused])
    expect(asked.state.tag === 'Building' && asked.state.phase.kind).toBe('rechecking')
    expect(one(asked.effects, 'recheckOps')).toEqual({ kind: 'recheckOps' })
    const rebuilt = transition(asked.state, { kind: 'opsRechecked', removed: 1 }, S)
    expect(one(rebuilt.effects, 'propose')).toMatchObject({ nonce: 5n })
  })

  it('nothing removed: back to waiting, the reason kept', () => {
    const asked = run([...sending, refused])
    const idle = transition(asked.state, { kind: 'opsRechecked', removed: 0 }, S)
    expect(one(idle.effects, 'propose')).toBeUndefined()
    expect(idle.state.tag === 'Building' && idle.state.last).toMatchObject({
      kind: 'send_failed',
      error: 'condition_not_met',
    })
  })

  it('a send never signed (no hash): nothing is tracked at the nonce, the ops stay', () => {
    const { state } = run([
      ...sending,
      { kind: 'sendResult', result: { kind: 'error', error: 'rejected', message: 'KMS down' } },
    ])
    expect(state.tag === 'Building' && state.phase.kind).toBe('idle')
    expect(state.ctx.tracking).toEqual({ nonce: 5n, txs: [] })
  })
})

describe('an abandoned bundle (priced out of its replacement, no refusal heard)', () => {
  const priced = { kind: 'proposal', result: { kind: 'none', reason: 'priced_out' } } as const
  const abandoned = [...pending, head(102n), priced]

  it('the next bundle probes at fresh fees; taken by the node, its fees are the new base', () => {
    const s = run(abandoned)
    expect(s.state.tag === 'Building' && s.state.underpriced).toBeUndefined()
    const trig = transition(s.state, { kind: 'trigger', source: 'manual' }, S)
    expect(one(trig.effects, 'propose')?.feeFloor).toBeUndefined()
    const sent = transition(
      trig.state,
      { kind: 'proposal', result: { kind: 'bundle', opHashes: OPS2, fees: F } },
      S,
    )
    expect(one(sent.effects, 'send')).toMatchObject({ fees: F, probe: true, replacing: h(1) })
    const taken = transition(sent.state, { kind: 'sendResult', hash: h(2), result: { kind: 'sent' } }, S)
    expect(taken.state.tag).toBe('Pending')
    expect(taken.state.ctx.tracking.floor).toEqual(F1)
    expect(taken.state.ctx.tracking.txs.map((t) => t.hash)).toEqual([h(1), h(2)])
  })

  it('refused by the node: the floor comes back over ours and the refused fees; priced out → the meta-state', () => {
    const s = run([
      ...abandoned,
      { kind: 'trigger', source: 'manual' },
      { kind: 'proposal', result: { kind: 'bundle', opHashes: OPS2, fees: F } },
      { kind: 'sendResult', hash: h(2), result: { kind: 'error', error: 'replacement_underpriced' } },
    ])
    expect(one(s.effects, 'propose')?.feeFloor).toEqual(F1)
    const meta = transition(s.state, priced, S)
    expect(meta.state.tag === 'Building' && meta.state.underpriced).toEqual({ sinceBlock: 102n })
  })
})

describe('the reset after a cancellation given up', () => {
  it('survives a failed nonce read: retried on the next head, still a reset', () => {
    const settings = { ...S, maxCancellationFeeIncreases: 0 }
    let { state } = start('manual')
    for (const ev of [
      ...pending,
      head(102n),
      { kind: 'proposal', result: { kind: 'bundle', opHashes: OPS2, fees: F } },
      { kind: 'sendResult', hash: h(2), result: { kind: 'error', error: 'replacement_underpriced' } },
      { kind: 'proposal', result: { kind: 'none', reason: 'priced_out' } },
      head(130n),
      { kind: 'trigger', source: 'manual' },
      { kind: 'proposal', result: { kind: 'none', reason: 'priced_out' } },
      { kind: 'cancelResult', result: { kind: 'error', error: 'replacement_underpriced' } },
      { kind: 'nonceReset', result: { kind: 'error', message: 'timeout' } },
      head(131n),
    ] as SenderEvent[])
      state = transition(state, ev, settings).state
    expect(state.tag === 'Building' && state.phase).toMatchObject({
      kind: 'syncing',
      awaiting: true,
      reset: true,
    })
    const after = transition(state, { kind: 'nonceReset', result: { kind: 'ok', chainNonce: 5n } }, settings)
    expect(after.state.ctx.tracking).toEqual({ nonce: 5n, txs: [] })
  })
})

describe('tracker bookkeeping', () => {
  it('percent raises round up', () => {
    expect(raiseByPercent(101n, 10)).toBe(112n) // 111.1 → 112
    expect(raiseByPercent(100n, 10)).toBe(110n)
    expect(raiseByPercent(0n, 10)).toBe(0n)
    expect(raiseByPercent(1n, 1)).toBe(2n) // 1.01 → 2: even 1 wei is a real bump
    expect(() => raiseByPercent(1n, 1.5)).toThrow(RangeError)
  })

  it('lifting to the floor keeps the tip under the fee cap', () => {
    expect(
      liftToFloor(
        { maxFeePerGas: 50n, maxPriorityFeePerGas: 5n },
        { maxFeePerGas: 40n, maxPriorityFeePerGas: 60n },
      ),
    ).toEqual({ maxFeePerGas: 60n, maxPriorityFeePerGas: 60n })
  })

  it('the floor is the max of every raise at the nonce and clears only when the nonce moves', () => {
    let t = newTracking(5n)
    t = recordSent(t, { hash: h(1), kind: 'bundle', fees: F, sentBlock: 1n, opHashes: OPS1 }, 10)
    expect(t.floor).toEqual(F1)
    t = recordReplacementUnderpriced(t, { maxFeePerGas: 900n, maxPriorityFeePerGas: 200n }, 10)
    expect(t.floor).toEqual({ maxFeePerGas: 1100n, maxPriorityFeePerGas: 220n })
    expect(t.refused).toBe(true)
    expect(feesForNext(t, F)).toEqual({ maxFeePerGas: 1100n, maxPriorityFeePerGas: 220n })
    expect(resync(t, 5n)).toBe(t) // same nonce: keep txs and floor
    expect(resync(t, 7n)).toEqual({ nonce: 7n, txs: [] })
    expect(afterMined(t)).toEqual({ nonce: 6n, txs: [] })
  })

  it('abandoned: the next fees ignore the floor; a probe only maybe sent keeps it', () => {
    const t = abandon(
      recordSent(newTracking(5n), { hash: h(1), kind: 'bundle', fees: F, sentBlock: 1n, opHashes: OPS1 }, 10),
    )
    expect(feesForNext(t, F)).toEqual(F)
    const low = { maxFeePerGas: 500n, maxPriorityFeePerGas: 50n }
    const maybe = recordSent(
      t,
      { hash: h(2), kind: 'bundle', fees: low, sentBlock: 2n, opHashes: OPS1 },
      10,
      false,
    )
    expect(maybe.floor).toEqual(F1)
    expect(maybe.abandoned).toBeUndefined()
  })

  it('a head: any hash at the nonce counts as mined; a used nonce without ours is "taken"', () => {
    let t = newTracking(5n)
    t = recordSent(t, { hash: h(1), kind: 'bundle', fees: F, sentBlock: 1n, opHashes: OPS1 }, 10)
    t = recordSent(t, { hash: h(2), kind: 'bundle', fees: F1, sentBlock: 3n, opHashes: OPS2 }, 10)
    const upd = (minedTxHashes: Hash[], nonce?: bigint) => ({
      address: ADDR,
      balance: 0n,
      minedTxHashes,
      nonce,
    })
    expect(observeHead(t, upd([h(1)], 5n))).toMatchObject({
      kind: 'mined',
      tx: { hash: h(1), opHashes: OPS1 },
    })
    expect(observeHead(t, upd([h(3)], 5n))).toEqual({ kind: 'nonce_taken', usedNonce: 5n })
    expect(observeHead(t, upd([h(3)], 4n))).toEqual({ kind: 'nothing' })
    expect(observeHead(t, undefined)).toEqual({ kind: 'nothing' })
  })
})

describe('the drop verdict', () => {
  const sent = { sentBlock: 100n }
  const at = (head: bigint) => ({ nonce: 5n, head })
  const missing = (knows: boolean, chainNonce = 5n): TxObservation => ({
    accepting: 'missing',
    node: { knows, chainNonce },
  })

  it.each([
    ['the relay says it will never be mined, at once', { accepting: 'dropped' }, 100n, 5, true],
    ['the accepting endpoint still holds it', { accepting: 'pending' }, 150n, 1, false],
    ['the accepting endpoint saw it mined', { accepting: 'included' }, 150n, 1, false],
    ['nobody has it, within the grace period', missing(false), 101n, 2, false],
    ['nobody has it, grace over', missing(false), 102n, 2, true],
    ['the status node knows it', missing(true), 150n, 1, false],
    ['the nonce moved (the head will tell what was mined)', missing(false, 6n), 150n, 1, false],
    ['the endpoint cannot say and the node was not read', { accepting: 'unknown' }, 150n, 1, false],
  ] as [string, TxObservation, bigint, number, boolean][])('%s', (_what, obs, headBlock, grace, dropped) => {
    expect(isDropped(obs, sent, at(headBlock), grace)).toBe(dropped)
  })
})

describe('the EntryPoint rotation', () => {
  const A = '0x000000000000000000000000000000000000000a' as Address
  const B = '0x000000000000000000000000000000000000000b' as Address
  function proposer(withBundle: Address[]) {
    const asked: Address[] = []
    return {
      asked,
      async propose(req: ProposeRequest): Promise<Proposal> {
        asked.push(req.entryPoint)
        const report = { skipped: [], rejected: [], entityUpdates: [], fees: F, baseFee: 1n }
        if (!withBundle.includes(req.entryPoint)) return { kind: 'none', reason: 'no_ops', ...report }
        const bundle = { entryPoint: req.entryPoint, groups: [{ ops: [{ hash: h(7) }] }] } as never
        return { kind: 'bundle', bundle, ...report }
      },
    }
  }
  const req = { signer: ADDR, shardIndex: 0 }

  it('a fresh bundle starts after the last EntryPoint that had one; a replacement asks that one first', async () => {
    const p = proposer([A, B])
    const r = new EntryPointRotation([A, B], p)
    expect((await r.propose(req)).result).toMatchObject({ kind: 'bundle', entryPoint: A, opHashes: [h(7)] })
    expect((await r.propose({ ...req, feeFloor: F1 })).result).toMatchObject({ entryPoint: A })
    expect((await r.propose(req)).result).toMatchObject({ entryPoint: B })
    expect(p.asked).toEqual([A, A, B])
  })

  it('no bundle anywhere: every EntryPoint asked, the most telling reason kept', async () => {
    const p = proposer([])
    const r = new EntryPointRotation([A, B], p)
    expect((await r.propose(req)).result).toEqual({ kind: 'none', reason: 'no_ops' })
    expect(p.asked).toEqual([A, B])
  })
})
