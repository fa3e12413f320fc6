import type { Address, PublicClient } from 'viem'
import { BlockReads } from '../../precheck-state.js'
import { type CallOutcome, callSimulation, type SimulationCall } from '../../sim-call.js'
import type { TraceOptions, ValidationTrace, ValidationTracer } from '../../tracer-seam.js'
import { phasesOf } from '../js-tracer.js'
import { parseRawTrace, type RawTrace } from '../raw.js'
import { fetchPrestate, SIMULATION_SENDER, sameOutcome } from './node-calls.js'
import { ValidationRecorder } from './recorder.js'
import { blockContext, type ReplayEngine } from './replay.js'

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
  /** The in-process EVM, set up for the node's chain id and hardfork (see the probe). */
  engine: ReplayEngine
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

  async trace(call: SimulationCall, opts: TraceOptions = {}): Promise<ValidationTrace> {
    const { client, engine } = this.deps
    const started = performance.now()
    const reads = opts.reads ?? new BlockReads(client)
    const block = await reads.block(call.blockNumber)
    const sent: SimulationCall = {
      ...call,
      from: call.from ?? SIMULATION_SENDER,
      gas: call.gas ?? (block.gasLimit < NATIVE_CALL_GAS_CAP ? block.gasLimit : NATIVE_CALL_GAS_CAP),
    }
    const ownCall = () => callSimulation(client, sent)
    const outcome = opts.nodeOutcome ? Promise.resolve(opts.nodeOutcome) : ownCall()
    outcome.catch(() => {}) // awaited below; a prestate failure must not leave it unhandled
    const prestate = await fetchPrestate(client, sent)
    const fetched = performance.now()
    const { config, entities } = phasesOf(call)
    const raw = await engine.replay(
      {
        from: sent.from as Address,
        to: call.entryPoint,
        data: call.data,
        gas: sent.gas as bigint,
        stateOverride: call.stateOverride,
      },
      prestate,
      blockContext(block),
      new ValidationRecorder(config),
    )
    const replayed = performance.now()
    const replay = replayOutcome(raw)
    let node = await outcome
    // An outcome from the bundle's batched call ran with other gas: ask the node about this call.
    if (opts.nodeOutcome && !agrees(node, replay)) node = await ownCall()
    const done = performance.now()
    const confirmed = agrees(node, replay)
    this.deps.observe?.({
      source: this.name,
      nodeMs: fetched - started + (done - replayed),
      replayMs: replayed - fetched,
      confirmed,
    })
    if (!confirmed) throw new ReplayMismatchError(node, replay)
    return { ...parseRawTrace(raw, entities), outcome: node }
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
