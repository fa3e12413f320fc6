/**
 * Property tests of the sender machine over random event sequences. A small interpreter turns
 * abstract commands into events that fit what the machine last asked for (or deliberately don't),
 * and an oracle, fed only events and effects, checks the invariants after every step.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DIAGRAM_EDGES, isAllowedMove } from '../src/builder/machine/edges.js'
import { start, transition } from '../src/builder/machine/transition.js'
import type { MachineSettings, SenderEffect, SenderState } from '../src/builder/machine/types.js'
import { replacementFloor as raiseFees } from '../src/chain/fee-math.js'
import { ANSWERED, answers, Oracle, ok } from './support/machine-oracle.js'
import { type Cmd, cmdArb, hashOf, settingsArb, toEvent, type World } from './support/machine-world.js'

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
    const missing = () => [
      ...DIAGRAM_EDGES.filter(([a, b]) => !edgesSeen.has(`${a}>${b}`)),
      ...['probe', 'reset', 'recheck', 'dropped', 'underpriced'].filter((r) => !reached.has(r)),
    ]
    // Batches of random sequences until every edge was taken (a rare edge can stay untaken in one
    // batch of 600; five batches without it would mean the generator cannot reach it).
    for (let batch = 0; batch < 5 && (batch === 0 || missing().length > 0); batch++) {
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
    }
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
