import type { PublicClient } from 'viem'
import type { Logger } from '../../util/log.js'
import { Erc7562RuleChecker, type RuleSettings } from '../rules/checker.js'
import type { RuleChecker, ValidationTracer } from '../tracer-seam.js'
import { CheckedTracer } from './checked.js'
import { JsValidationTracer } from './js-tracer.js'
import { NativeValidationTracer, type TraceTiming } from './native/native-tracer.js'
import { probeNativeSupport } from './native/probe.js'
import { WorkerReplayer } from './native/worker-replayer.js'
import { probeTracerSupport } from './probe.js'

/** `--sim.tracer`: where safe mode's traces come from. */
export type TracerChoice = 'auto' | 'native' | 'js'

export interface ValidationMode {
  tracer?: ValidationTracer
  ruleChecker?: RuleChecker
  /** The native path's worker thread, when replays run on one. */
  replayWorker?: WorkerReplayer
  /** Stops what the mode runs besides the node (the replay worker). */
  close(): Promise<void>
}

/** Start-up refusal: no tracing path works on this node and `--unsafe` was not given. */
export class TracerUnsupportedError extends Error {
  constructor(reason: string) {
    super(
      `safe mode cannot check the ERC-7562 validation rules on this node: ${reason}. ` +
        'Use a node with debug_traceCall (native prestateTracer, or JavaScript tracers), ' +
        'or start with --unsafe to skip the validation rules.',
    )
    this.name = 'TracerUnsupportedError'
  }
}

/**
 * What `--unsafe` turns off and what still applies; the start-up warning is built from these, so it
 * says exactly what is enforced. The mempool's own limits need no tracer (stake comes from
 * simulateValidation's result), and they are what keeps one entity from filling the pool.
 */
export const UNSAFE_SKIPS = [
  'banned opcodes (OP-*)',
  'storage access rules (STO-*)',
  'the staked-entity exceptions and stake checks of those rules (-32505)',
  "code-change checks at bundling for contracts the entities call (the entities' own code is still compared)",
  'the storage slots a conditional submission pins (knownAccounts)',
] as const
export const UNSAFE_KEEPS = [
  'simulateValidation itself (signatures, prefund, time range, paymaster deposit)',
  'ops per sender',
  'the unstaked-entity allowance (UREP-020)',
  'reputation throttling and bans',
  'an address being a sender in one op and an entity in another',
] as const

export function unsafeWarning(): string {
  return (
    `UNSAFE MODE (--unsafe): ops are simulated without the ERC-7562 tracer, so these are NOT checked: ${UNSAFE_SKIPS.join('; ')}. ` +
    `Still enforced: ${UNSAFE_KEEPS.join('; ')}. Never run a public mempool like this.`
  )
}

export interface ValidationModeOptions {
  unsafe: boolean
  /** Default 'auto'. */
  tracer?: TracerChoice
  client: PublicClient
  /** The chain id the native replay runs with (CHAINID); the node's when absent. */
  chainId?: number
  logger: Logger
  rules?: Partial<RuleSettings>
  /** Timings of each native trace (for metrics). */
  observe?: (t: TraceTiming) => void
  /** The native path replays on a worker thread (default false: on the calling thread). */
  replayWorker?: boolean
}

/**
 * The composition root's switch between safe mode (default: traces and the ERC-7562 rules) and
 * `--unsafe` (plain eth_call simulation, no rules; logged once, loudly). Safe mode probes the node
 * for the paths `--sim.tracer` allows: native (prestateTracer + in-process replay, confirmed by
 * eth_call) and the JS tracer. `auto` prefers native; native falls back to the JS tracer per op
 * where the node has one. The choice is logged; when no allowed path works, TracerUnsupportedError.
 */
export async function createValidationMode(opts: ValidationModeOptions): Promise<ValidationMode> {
  const { logger, client } = opts
  if (opts.unsafe) {
    logger.warn({ unsafe: true }, unsafeWarning())
    return { close: async () => {} }
  }
  const choice = opts.tracer ?? 'auto'
  const [native, js] = await Promise.all([
    choice === 'js' ? undefined : probeNativeSupport(client, opts.chainId),
    probeTracerSupport(client),
  ])
  const ruleChecker = new Erc7562RuleChecker(opts.rules)
  const jsTracer = js.ok ? new JsValidationTracer(client) : undefined
  if (native?.ok) {
    const replayWorker = opts.replayWorker
      ? new WorkerReplayer(native.rules, native.engine, logger)
      : undefined
    const tracer = new CheckedTracer(
      new NativeValidationTracer({ client, engine: replayWorker ?? native.engine, observe: opts.observe }),
      jsTracer,
      logger,
    )
    logger.info(
      {
        tracer: 'native',
        choice,
        hardfork: native.hardfork,
        fallback: jsTracer ? 'js' : 'none',
        replays: replayWorker ? 'worker thread' : 'main thread',
      },
      `safe mode: ERC-7562 rules on, traces from the node's prestateTracer replayed in-process (${native.hardfork}), ` +
        (jsTracer
          ? 'falling back to the JS tracer when the node disagrees'
          : 'refusing any op the node disagrees on (the node has no JS tracer)'),
    )
    return { tracer, ruleChecker, replayWorker, close: async () => replayWorker?.close() }
  }
  if (choice === 'native')
    throw new TracerUnsupportedError(`--sim.tracer native: the native path does not work (${native?.reason})`)
  if (!jsTracer) {
    const jsWhy = `JS tracer: ${reasonOf(js)}`
    const why = native ? `native path: ${reasonOf(native)}; ${jsWhy}` : jsWhy
    throw new TracerUnsupportedError(`--sim.tracer ${choice}: ${why}`)
  }
  logger.info(
    { tracer: 'js', choice, ...(native ? { nativeUnavailable: reasonOf(native) } : {}) },
    "safe mode: ERC-7562 rules on, traces from the node's JavaScript tracer (debug_traceCall)",
  )
  return { tracer: jsTracer, ruleChecker, close: async () => {} }
}

function reasonOf(s: { ok: true } | { ok: false; reason: string }): string {
  return s.ok ? 'works' : s.reason
}
