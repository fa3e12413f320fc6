import { RpcCode } from '../../util/errors.js'
import type { TracedPhase } from '../tracer/raw.js'
import type { RuleChecker, RuleContext, RuleViolation, ValidationTrace } from '../tracer-seam.js'
import { associationBases } from './associated.js'
import { entityAddresses, phaseView, same, stakeShortfall } from './context.js'
import { opcodeViolations } from './opcode-rules.js'
import { defaultRuleSettings, type RuleSettings } from './settings.js'
import { storageViolations } from './storage-rules.js'

export type { RuleSettings } from './settings.js'

/**
 * ERC-7562 for EntryPoint v0.7/v0.8, over a ValidationTrace: opcode rules (OP-0xx), storage rules
 * (STO-0xx, transient storage as OP-070 says), stake rules (EREP-040; SREP-010's definition of
 * staked arrives as `isStaked` in the result). Pure: no I/O, so the rule table runs without a chain.
 * Violations come in phase order (factory, account, paymaster), opcode rules before storage.
 */
export class Erc7562RuleChecker implements RuleChecker {
  private readonly settings: RuleSettings

  constructor(settings: Partial<RuleSettings> = {}) {
    this.settings = defaultRuleSettings(settings)
  }

  check(trace: ValidationTrace, ctx: RuleContext): RuleViolation[] {
    const out: RuleViolation[] = []
    const bases = associationBases(trace.phases.flatMap((p) => p.keccakInputs))
    const entities = entityAddresses(ctx)
    for (const p of trace.phases as TracedPhase[]) {
      const view = phaseView(p.phase, p.entity, ctx)
      out.push(...opcodeViolations(p, view, this.settings))
      out.push(
        ...storageViolations(
          p,
          {
            view,
            factoryStaked: ctx.result.factory?.isStaked ?? false,
            otherEntities: entities.filter((e) => !same(e, p.entity)),
            bases,
          },
          this.settings,
        ),
      )
    }
    const agg = ctx.result.aggregator
    if (agg && !agg.stake.isStaked)
      out.push({
        code: RpcCode.StakeTooLow,
        rule: 'EREP-040',
        entity: { kind: 'aggregator', address: agg.address },
        message: `aggregator ${agg.address} must be staked: ${stakeShortfall(agg.stake, this.settings)}`,
      })
    return out
  }
}
