import type { Address, PublicClient } from 'viem'
import { BlockReads } from '../../precheck-state.js'
import { type CallOutcome, callSimulation, type SimulationCall } from '../../sim-call.js'
import type { TraceOptions, ValidationTrace, ValidationTracer } from '../../tracer-seam.js'
import { phasesOf } from '../js-tracer.js'
import { parseRawTrace, type RawTrace } from '../raw.js'
import { fetchPrestate, SIMULATION_SENDER, sameOutcome } from './node-calls.js'
import { blockContext } from './replay.js'
import { type Prestate, type StartingState, startingState } from './replay-state.js'
import type { Replayer } from './replayer.js'
import { memoKey, TraceMemo } from './trace-memo.js'

/** Gas of every native simulation call: the block's limit, at most this (under geth's RPC gas cap). */
export const NATIVE_CALL_GAS_CAP = 30_000_000n

/** Where a native trace's time went, for metrics: node round trip, in-process replay. */
export interface TraceTiming {
  source: string
  /** Waiting for the node (pre-state and the confirming eth_call, in parallel). */
  nodeMs: number
  /** The in-process replay and rule recording. */
  replayMs: number
  /** Whether the replay's outcome matched the node's. */
  confirmed: boolean
  /** The trace of an earlier replay from the same state was reused (no replay ran). */
  reused: boolean
}

/** The replay did not reproduce the node's outcome: its trace cannot be trusted. */
export class ReplayMismatchError extends Error {
  constructor(
    readonly node: CallOutcome,
    readonly replay: CallOutcome | { halted: string },
  ) {
    super(`the in-process replay disagreed with the node: node ${describe(node)}, replay ${describe(replay)}`)
    this.name = 'ReplayMismatchError'
  }
}

export interface NativeTracerDeps {
  client: PublicClient
  /** The EVM replaying calls, set up for the node's chain id and hardfork (see the probe). */
  engine: Replayer
  /** Called once per trace with its timings (a metric can read them). */
  observe?: (t: TraceTiming) => void
}

/**
 * ERC-7562 traces from native tracers only: the node's `prestateTracer` gives the exact state
 * the simulation call reads (one debug_traceCall, no per-opcode callback in the node); the call is
 * replayed in-process on @ethereumjs/evm over that state, the recorder taking what the rules need
 * from the replay. The node's own eth_call of the same call runs alongside and must give the
 * replay's outcome byte for byte, else ReplayMismatchError is thrown and the trace is not used.
 * Version-agnostic: it replays whatever call (calldata, state override) the simulator makes.
 */
export class NativeValidationTracer implements ValidationTracer {
  readonly name = 'native'

  constructor(private readonly deps: NativeTracerDeps) {}

  readonly usesNodeOutcome = true
  private readonly memo = new TraceMemo()
  /** Starting states made from a bundle's shared pre-state, one per state override. */
  private readonly starts = new WeakMap<Prestate, Map<string, StartingState>>()

  async trace(call: SimulationCall, opts: TraceOptions = {}): Promise<ValidationTrace> {
    const first = await this.attempt(call, opts)
    if ('trace' in first) return first.trace
    // What the caller handed over (the bundle's batched outcome and pre-state) came from another
    // call: before giving up, ask the node about this very call.
    if (opts.nodeOutcome === undefined && opts.prestate === undefined) throw first.mismatch
    const own = await this.attempt(call, { reads: opts.reads })
    if ('trace' in own) return own.trace
    throw own.mismatch
  }

  private async attempt(
    call: SimulationCall,
    opts: TraceOptions,
  ): Promise<{ trace: ValidationTrace } | { mismatch: ReplayMismatchError }> {
    const { client, engine } = this.deps
    const started = performance.now()
    const reads = opts.reads ?? new BlockReads(client)
    const block = await reads.block(call.blockNumber)
    const sent: SimulationCall = {
      ...call,
      from: call.from ?? SIMULATION_SENDER,
      gas: call.gas ?? (block.gasLimit < NATIVE_CALL_GAS_CAP ? block.gasLimit : NATIVE_CALL_GAS_CAP),
    }
    const outcome = opts.nodeOutcome ? Promise.resolve(opts.nodeOutcome) : callSimulation(client, sent)
    outcome.catch(() => {}) // awaited below; a prestate failure must not leave it unhandled
    const start = opts.prestate
      ? this.shared(opts.prestate, call)
      : startingState(await fetchPrestate(client, sent), call.stateOverride)
    const fetched = performance.now()
    const key = memoKey(call.entryPoint, call.data)
    const remembered = this.memo.recall(key, start, [call.entryPoint.toLowerCase(), SIMULATION_SENDER])
    const observe = (replayed: number, confirmed: boolean) =>
      this.deps.observe?.({
        source: this.name,
        nodeMs: fetched - started + (performance.now() - replayed),
        replayMs: replayed - fetched,
        confirmed,
        reused: remembered !== undefined,
      })
    if (remembered) {
      const node = await outcome
      if (sameOutcome(node, remembered.outcome)) {
        observe(fetched, true)
        return { trace: { ...remembered, outcome: node } }
      }
    }
    const { config, entities } = phasesOf(call)
    // A replay that fails outright (an EVM the library cannot run) is a disagreement like any other.
    const raw: RawTrace | { failed: string } = await engine
      .replay(
        {
          from: sent.from as Address,
          to: call.entryPoint,
          data: call.data,
          gas: sent.gas as bigint,
          stateOverride: call.stateOverride,
        },
        start,
        blockContext(block),
        config,
      )
      .catch((err: unknown) => ({ failed: (err as Error)?.message ?? String(err) }))
    const replayed = performance.now()
    const replay = 'failed' in raw ? { halted: `replay failed: ${raw.failed}` } : replayOutcome(raw)
    const node = await outcome
    const confirmed = agrees(node, replay) && !('failed' in raw)
    observe(replayed, confirmed)
    if (!confirmed || 'failed' in raw) return { mismatch: new ReplayMismatchError(node, replay) }
    const trace = { ...parseRawTrace(raw, entities), outcome: node }
    this.memo.remember(key, start, trace)
    return { trace }
  }

  /** The starting state of `call` from a pre-state many calls share, made once per override. */
  private shared(prestate: Prestate, call: SimulationCall): StartingState {
    let byOverride = this.starts.get(prestate)
    if (!byOverride) {
      byOverride = new Map()
      this.starts.set(prestate, byOverride)
    }
    const key = JSON.stringify(call.stateOverride)
    let start = byOverride.get(key)
    if (!start) {
      start = startingState(prestate, call.stateOverride)
      byOverride.set(key, start)
    }
    return start
  }
}

function replayOutcome(raw: RawTrace): CallOutcome | { halted: string } {
  if (raw.error === null) return { ok: true, data: raw.output }
  if (/revert/i.test(raw.error)) return { ok: false, revert: raw.output }
  return { halted: raw.error }
}

function agrees(node: CallOutcome, replay: CallOutcome | { halted: string }): boolean {
  return 'ok' in replay && sameOutcome(node, replay)
}

function describe(o: CallOutcome | { halted: string }): string {
  if ('halted' in o) return `halted (${o.halted})`
  const data = o.ok ? o.data : o.revert
  const shown = data.length > 74 ? `${data.slice(0, 74)}…` : data
  return `${o.ok ? 'returned' : 'reverted'} ${shown}`
}
