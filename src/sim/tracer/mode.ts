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
    opts.logger.warn({ unsafe: true }, unsafeWarning())
    return {}
  }
  const support = await probeTracerSupport(opts.client)
  if (!support.ok) throw new TracerUnsupportedError(support.reason)
  opts.logger.info('safe mode: ERC-7562 validation tracer and rules on')
  return { tracer: new JsValidationTracer(opts.client), ruleChecker: new Erc7562RuleChecker(opts.rules) }
}
