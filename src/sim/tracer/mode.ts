import type { PublicClient } from 'viem'
import type { Logger } from '../../util/log.js'
import { Erc7562RuleChecker, type RuleSettings } from '../rules/checker.js'
import type { RuleChecker, ValidationTracer } from '../tracer-seam.js'
import { JsValidationTracer } from './js-tracer.js'
import { probeTracerSupport } from './probe.js'

export interface ValidationMode {
  tracer?: ValidationTracer
  ruleChecker?: RuleChecker
}

/** Start-up refusal: the node cannot run the tracer and `--unsafe` was not given. */
export class TracerUnsupportedError extends Error {
  constructor(reason: string) {
    super(
      `the node cannot run Conveyor's ERC-7562 validation tracer (debug_traceCall with a JavaScript tracer): ${reason}. ` +
        'Use a node with JS tracers (geth, reth, anvil), or start with --unsafe to skip the validation rules.',
    )
    this.name = 'TracerUnsupportedError'
  }
}

/**
 * The composition root's switch between safe mode (default: the tracer and the ERC-7562 rules)
 * and `--unsafe` (plain eth_call simulation, no rules; logged once, loudly). Safe mode probes the
 * node first and throws TracerUnsupportedError when it cannot trace.
 */
export async function createValidationMode(opts: {
  unsafe: boolean
  client: PublicClient
  logger: Logger
  rules?: Partial<RuleSettings>
}): Promise<ValidationMode> {
  if (opts.unsafe) {
    opts.logger.warn(
      { unsafe: true },
      'UNSAFE MODE: ERC-7562 validation rules are OFF (--unsafe). Ops are simulated without the tracer: ' +
        'banned opcodes, storage access and stake rules are not enforced. Never run a public mempool like this.',
    )
    return {}
  }
  const support = await probeTracerSupport(opts.client)
  if (!support.ok) throw new TracerUnsupportedError(support.reason)
  opts.logger.info('safe mode: ERC-7562 validation tracer and rules on')
  return { tracer: new JsValidationTracer(opts.client), ruleChecker: new Erc7562RuleChecker(opts.rules) }
}
