/**
 * The operator failure modes from REFERENCES.md that are expressible as pure events, each as a
 * scripted scenario, plus the tracker's bookkeeping and fee rounding.
 */
import type { Hash } from 'viem'
import { describe, expect, it } from 'vitest'
import { start, transition } from '../src/builder/machine/transition.js'
import {
  DEFAULT_MACHINE_SETTINGS,
  type SenderEffect,
  type SenderEvent,
  type SenderState,
} from '../src/builder/machine/types.js'
import { type Fees, replacementFloor as raiseFees } from '../src/chain/fee-math.js'

const h = (n: number): Hash => `0x${n.toString(16).padStart(64, '0')}`
const ADDR = '0x00000000000000000000000000000000000000aa' as const
const S = DEFAULT_MACHINE_SETTINGS
const F: Fees = { maxFeePerGas: 1000n, maxPriorityFeePerGas: 100n }
const F1 = raiseFees(F, 10) // 1100 / 110
const F2 = raiseFees(F1, 10) // 1210 / 121
const OPS1 = [h(0xa1), h(0xa2)]
const OPS2 = [h(0xb1)]

/** A head; the driver attaches the receipts (successful) of our mined transactions. */
const head = (blockNumber: bigint, mined: Hash[] = [], nonce?: bigint): SenderEvent => ({
  kind: 'newHead',
  blockNumber,
  update: { address: ADDR, balance: 10n ** 18n, minedTxHashes: mined, nonce },
  receipts: mined.map((hash) => ({ hash, blockNumber, reverted: false })),
})
const relayDropped = (hash: Hash): SenderEvent => ({
  kind: 'txObserved',
  hash,
  observation: { accepting: 'dropped' },
})
const trigger: SenderEvent = { kind: 'trigger', source: 'manual' }
const bundle = (opHashes: Hash[], fees: Fees = F): SenderEvent => ({
  kind: 'proposal',
  result: { kind: 'bundle', opHashes, fees },
})
const sent = (hash: Hash): SenderEvent => ({ kind: 'sendResult', hash, result: { kind: 'sent' } })
const sendErr = (
  hash: Hash,
  error: Extract<SenderEvent, { kind: 'sendResult' }>['result'] & { kind: 'error' },
) => ({
  kind: 'sendResult' as const,
  hash,
  result: error,
})
const synced = (chainNonce: bigint, mined?: Hash): SenderEvent => ({
  kind: 'nonceReset',
  result: { kind: 'ok', chainNonce, mined: mined ? { hash: mined, reverted: false } : undefined },
})

/** Runs events from start, keeping every step's effects. */
class Script {
  state: SenderState
  log: { ev: SenderEvent; effects: SenderEffect[] }[] = []
  constructor(mode: 'auto' | 'manual' = 'manual') {
    this.state = start(mode).state
  }
  on(...events: SenderEvent[]): SenderEffect[] {
    let last: SenderEffect[] = []
    for (const ev of events) {
      const step = transition(this.state, ev, S)
      this.state = step.state
      last = step.effects
      this.log.push({ ev, effects: last })
    }
    return last
  }
  all<K extends SenderEffect['kind']>(kind: K): Extract<SenderEffect, { kind: K }>[] {
    return this.log
      .flatMap((l) => l.effects)
      .filter((e): e is Extract<SenderEffect, { kind: K }> => e.kind === kind)
  }
}
const one = <K extends SenderEffect['kind']>(effects: SenderEffect[], kind: K) =>
  effects.find((e): e is Extract<SenderEffect, { kind: K }> => e.kind === kind)

/** Nonce 5, bundle h1 (OPS1 at F) pending since block 100. */
function pendingScript(): Script {
  const s = new Script()
  s.on(synced(5n), head(100n), trigger, bundle(OPS1), sent(h(1)))
  expect(s.state.tag).toBe('Pending')
  return s
}

describe('operator failure modes', () => {
  it('a bundle mined just before its replacement is sent: nonce too low → check the chain, never resend at N+1', () => {
    const s = pendingScript()
    s.on(head(101n), head(102n)) // not mined in time → replacement proposed
    expect(one(s.on(bundle(OPS2)), 'send')).toMatchObject({ nonce: 5n, fees: F1 })
    const after = s.on(sendErr(h(2), { kind: 'error', error: 'nonce_too_low' }))
    expect(one(after, 'resetNonce')).toEqual({ kind: 'resetNonce', checkHashes: [h(1)] })
    expect(one(after, 'send')).toBeUndefined()
    // The chain says our original was mined: its ops (not the replacement's) leave the pool.
    const done = s.on(synced(6n, h(1)))
    expect(one(done, 'removeOps')).toEqual({ kind: 'removeOps', txHash: h(1), opHashes: OPS1 })
    expect(s.state.tag === 'Building' && s.state.phase.kind).toBe('idle')
    // The next bundle is a fresh one at 6, not the lost replacement re-aimed at N+1.
    expect(s.all('send').filter((e) => e.nonce === 6n)).toEqual([])
    expect(one(s.on(trigger), 'propose')).toEqual({
      kind: 'propose',
      nonce: 6n,
      feeFloor: undefined,
      feeIncreases: 0,
    })
  })

  it('nonce too low with none of ours mined: the nonce is re-read, the ops stay', () => {
    const s = new Script()
    s.on(synced(5n), head(100n), trigger, bundle(OPS1))
    s.on(sendErr(h(1), { kind: 'error', error: 'nonce_too_low' }), synced(7n))
    expect(s.state.ctx.tracking).toEqual({ nonce: 7n, txs: [] })
    expect(s.all('removeOps')).toEqual([])
  })

  it('a pending bundle looks dropped: the resend is bumped, so it is not "underpriced"', () => {
    const s = pendingScript()
    const effects = s.on(relayDropped(h(1)))
    expect(one(effects, 'propose')?.feeFloor).toEqual(F1)
    // Market fees unchanged: the proposer's fees are lifted to the floor.
    expect(one(s.on(bundle(OPS1, F)), 'send')?.fees).toEqual(F1)
  })

  it('base fee up, tips down: no op pays for a replacement, only a cancellation unblocks', () => {
    const s = pendingScript()
    s.on(head(101n), head(102n))
    const priced = { kind: 'proposal', result: { kind: 'none', reason: 'priced_out' } } as const
    // Abandoned: the next bundle is a probe at fresh fees, which the node refuses (ours is still there).
    s.on(priced)
    expect(s.state.tag === 'Building' && s.state.underpriced).toBeUndefined()
    expect(one(s.on(trigger), 'propose')?.feeFloor).toBeUndefined()
    expect(one(s.on(bundle(OPS1, F)), 'send')).toMatchObject({ fees: F, probe: true })
    s.on(sendErr(h(2), { kind: 'error', error: 'replacement_underpriced' }))
    expect(s.state.ctx.tracking.floor).toEqual(F1) // over the refused fees and our own bundle's
    s.on(priced)
    expect(s.state.tag === 'Building' && s.state.underpriced).toEqual({ sinceBlock: 102n })
    s.on(head(110n), trigger, priced)
    expect(s.state.tag).toBe('Building') // 8 blocks: still waiting
    const effects = s.on(head(123n), trigger, priced)
    expect(s.state.tag).toBe('Cancelling')
    expect(one(effects, 'cancel')).toMatchObject({ nonce: 5n, fees: F1, txHash: h(1) })
    s.on({ kind: 'cancelResult', result: { kind: 'hard', hash: h(9) } }, head(124n, [h(9)], 5n))
    expect(s.state.tag).toBe('Building')
    expect(s.state.ctx.tracking).toEqual({ nonce: 6n, txs: [] })
    expect(s.all('removeOps')).toEqual([]) // the ops were never included: they stay in the pool
  })

  it('the fee bump does not reset early and oscillate', () => {
    const s = pendingScript()
    s.on(head(102n)) // replacement due with floor F1
    s.on(bundle(OPS1, F), sendErr(h(2), { kind: 'error', error: 'underpriced' }))
    // Not taken, back to waiting: the floor still holds for the next try.
    expect(s.state.ctx.tracking.floor).toEqual(F1)
    expect(one(s.on(trigger), 'propose')?.feeFloor).toEqual(F1)
    s.on(bundle(OPS1, F), sendErr(h(3), { kind: 'error', error: 'replacement_underpriced' }))
    const F2 = raiseFees(F1, 10)
    s.on({ kind: 'proposal', result: { kind: 'none', reason: 'priced_out' } })
    // The meta-state "resets the fees" (the increase count), not the floor.
    expect(s.state.tag === 'Building' && s.state.feeIncreases).toBe(0)
    expect(one(s.on(trigger), 'propose')?.feeFloor).toEqual(F2)
    expect(one(s.on(bundle(OPS1, F)), 'send')?.fees).toEqual(F2)
  })

  it('replacement underpriced: raise over the refused fees and rebuild at once', () => {
    const s = pendingScript()
    s.on(head(102n), bundle(OPS1, F))
    const effects = s.on(sendErr(h(2), { kind: 'error', error: 'replacement_underpriced' }))
    expect(one(effects, 'propose')).toMatchObject({ nonce: 5n, feeFloor: raiseFees(F1, 10), feeIncreases: 2 })
  })

  it('an external transaction uses the signer nonce: re-read, no op removed', () => {
    const s = pendingScript()
    expect(one(s.on(head(101n, [h(0xee)], 5n)), 'resetNonce')).toBeDefined()
    s.on(synced(6n))
    expect(s.state.ctx.tracking).toEqual({ nonce: 6n, txs: [] })
    expect(s.all('removeOps')).toEqual([])
    expect(one(s.on(trigger), 'propose')?.nonce).toBe(6n)
  })

  it('the status RPC lags: a "dropped" bundle gets replaced, then the original is mined after all', () => {
    const s = pendingScript()
    s.on(relayDropped(h(1)), bundle(OPS2), sent(h(2)))
    expect(s.state.ctx.tracking.txs.map((t) => t.hash)).toEqual([h(1), h(2)])
    const effects = s.on(head(101n, [h(1)], 5n))
    expect(one(effects, 'removeOps')).toEqual({ kind: 'removeOps', txHash: h(1), opHashes: OPS1 })
    expect(s.state.ctx.tracking.nonce).toBe(6n)
  })

  it('a reorg un-mines a bundle: the nonce is re-read before the next bundle', () => {
    const s = pendingScript()
    s.on(head(101n, [h(1)], 5n))
    expect(s.state.ctx.tracking.nonce).toBe(6n)
    s.on(head(101n)) // the same height again: a reorg
    const effects = s.on(trigger)
    expect(one(effects, 'propose')).toBeUndefined()
    expect(one(effects, 'resetNonce')).toBeDefined()
    // The chain is back at 5 (the bundle is out of the canonical chain): build at 5.
    expect(one(s.on(synced(5n)), 'propose')?.nonce).toBe(5n)
  })

  it('"already known" on a resend counts as sent', () => {
    const s = new Script()
    s.on(synced(5n), head(100n), trigger, bundle(OPS1))
    s.on(sendErr(h(1), { kind: 'error', error: 'already_known' }))
    expect(s.state.tag).toBe('Pending')
    expect(s.state.ctx.tracking.txs.map((t) => t.hash)).toEqual([h(1)])
  })

  it('a failed proposal, an RPC timeout on send, a failed nonce read: the machine carries on', () => {
    const s = new Script()
    s.on({ kind: 'nonceReset', result: { kind: 'error', message: 'ECONNRESET' } })
    expect(one(s.on(head(100n)), 'resetNonce')).toBeDefined() // retried on the next head
    s.on(synced(5n), trigger, { kind: 'proposal', result: { kind: 'error', message: 'timeout' } })
    expect(s.state.tag === 'Building' && s.state.phase.kind).toBe('idle')
    s.on(trigger, bundle(OPS1), sendErr(h(1), { kind: 'error', error: 'unavailable', message: 'timeout' }))
    // Maybe it reached the node: tracked, so the next try raises over it and a late mine is caught.
    expect(s.state.tag).toBe('Building')
    expect(s.state.ctx.tracking.txs.map((t) => t.hash)).toEqual([h(1)])
    expect(one(s.on(trigger), 'propose')?.feeFloor).toEqual(F1)
    const mined = s.on(head(101n, [h(1)], 5n))
    expect(one(mined, 'removeOps')?.opHashes).toEqual(OPS1)
  })

  it('a restart while a bundle is pending: the unknown tx is met as "replacement underpriced" and outbid', () => {
    const s = new Script()
    expect(start('manual').effects[0]).toEqual({ kind: 'resetNonce', checkHashes: [] })
    s.on(synced(5n), head(100n), trigger, bundle(OPS1, F))
    const effects = s.on(sendErr(h(1), { kind: 'error', error: 'replacement_underpriced' }))
    expect(one(effects, 'propose')?.feeFloor).toEqual(F1)
    s.on(bundle(OPS1, F), sent(h(2)))
    expect(s.all('send').map((e) => e.fees)).toEqual([F, F1])
    expect(s.state.tag).toBe('Pending')
  })

  it('insufficient funds: back to Building with the reason, ops kept, caller told', () => {
    const s = new Script()
    s.on(synced(5n), head(100n), trigger, bundle(OPS1))
    const effects = s.on(sendErr(h(1), { kind: 'error', error: 'insufficient_funds' }))
    expect(s.state.tag === 'Building' && s.state.last).toEqual({
      kind: 'send_failed',
      error: 'insufficient_funds',
      message: undefined,
    })
    expect(one(effects, 'notify')?.result).toEqual({ kind: 'failed', reason: 'insufficient_funds' })
    expect(s.all('removeOps')).toEqual([])
    expect(s.state.ctx.tracking.txs).toEqual([])
  })
})

describe('cancellation', () => {
  /** Cancelling at nonce 5 with the floor F2. */
  function cancelling(maxCancellationFeeIncreases = 15) {
    const settings = { ...S, maxCancellationFeeIncreases }
    let { state } = start('manual')
    const priced = { kind: 'proposal', result: { kind: 'none', reason: 'priced_out' } } as const
    for (const ev of [
      synced(5n),
      head(100n),
      trigger,
      bundle(OPS1),
      sent(h(1)),
      head(102n),
      bundle(OPS1),
      // The replacement at F1 is refused: the floor is raised over it (F2) and prices the ops out.
      sendErr(h(2), { kind: 'error', error: 'replacement_underpriced' }),
      priced,
      head(123n),
      trigger,
      priced,
    ]) {
      state = transition(state, ev, settings).state
    }
    expect(state.tag).toBe('Cancelling')
    return { state, settings }
  }

  it('each retry raises the fees; after max_cancellation_fee_increases it gives up and re-reads the nonce', () => {
    let { state, settings } = cancelling(2)
    const fees: Fees[] = [F2]
    for (let i = 0; i < 2; i++) {
      state = transition(
        state,
        { kind: 'cancelResult', result: { kind: 'hard', hash: h(10 + i) } },
        settings,
      ).state
      const step = transition(state, relayDropped(h(10 + i)), settings)
      state = step.state
      expect(state.tag).toBe('Cancelling')
      fees.push(one(step.effects, 'cancel')!.fees)
    }
    expect(fees).toEqual([F2, raiseFees(F2, 10), raiseFees(raiseFees(F2, 10), 10)])
    state = transition(state, { kind: 'cancelResult', result: { kind: 'hard', hash: h(20) } }, settings).state
    const last = transition(state, head(200n), settings)
    expect(last.state.tag).toBe('Building')
    expect(one(last.effects, 'cancel')).toBeUndefined()
    expect(one(last.effects, 'resetNonce')?.checkHashes).toEqual([h(1), h(10), h(11), h(20)])
  })

  it('a bundle of ours mined while cancelling: its ops leave the pool and the episode ends', () => {
    const { state, settings } = cancelling()
    const step = transition(state, head(124n, [h(1)], 5n), settings)
    expect(step.state.tag).toBe('Building')
    expect(one(step.effects, 'removeOps')?.opHashes).toEqual(OPS1)
  })

  it('a cancellation refused as underpriced is bumped in place', () => {
    const { state, settings } = cancelling()
    const step = transition(
      state,
      { kind: 'cancelResult', result: { kind: 'error', error: 'replacement_underpriced' } },
      settings,
    )
    expect(step.state.tag).toBe('Cancelling')
    expect(one(step.effects, 'cancel')).toMatchObject({ fees: raiseFees(F2, 10), feeIncreases: 1 })
  })
})

describe('start-up takeover of a transaction left pending at our nonce', () => {
  const leftover = { hash: h(0xdead), fees: F }

  it('waits for it as the bundle in flight (Building → Pending), counting the wait from the first head', () => {
    let state = start('auto').state
    let step = transition(
      state,
      { kind: 'nonceReset', result: { kind: 'ok', chainNonce: 7n, inFlight: leftover } },
      S,
    )
    state = step.state
    expect(state.tag).toBe('Pending')
    expect(state.ctx.tracking.nonce).toBe(7n)
    expect(state.ctx.tracking.txs.map((t) => t.hash)).toEqual([leftover.hash])
    // Any replacement must beat the leftover's fees by the percentage.
    expect(state.ctx.tracking.floor).toEqual(F1)

    step = transition(state, head(100n), S)
    state = step.state
    expect(state.tag).toBe('Pending')
    if (state.tag === 'Pending') expect(state.untilBlock).toBe(102n)
    step = transition(state, head(101n), S)
    expect(step.state.tag).toBe('Pending')

    // It gets mined: the nonce moves on, and no pool removal (its ops are not ours to know).
    step = transition(step.state, head(102n, [leftover.hash], 7n), S)
    expect(step.state.tag).toBe('Building')
    expect(step.state.ctx.tracking.nonce).toBe(8n)
    expect(step.effects.some((e) => e.kind === 'removeOps')).toBe(false)
  })

  it('replaces it through the normal path when it is not mined in time', () => {
    let state = transition(start('auto').state, {
      kind: 'nonceReset',
      result: { kind: 'ok', chainNonce: 7n, inFlight: leftover },
    }).state
    state = transition(state, head(100n), S).state
    const step = transition(state, head(102n), S)
    expect(step.state.tag).toBe('Building')
    const propose = step.effects.find(
      (e): e is Extract<SenderEffect, { kind: 'propose' }> => e.kind === 'propose',
    )
    expect(propose?.nonce).toBe(7n)
    expect(propose?.feeFloor).toEqual(F1)
  })
})
