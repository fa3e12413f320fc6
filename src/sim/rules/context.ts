import type { Address } from 'viem'
import { factoryEntity } from '../../chain/eip7702.js'
import type { RuleContext, RuleViolation, ValidationPhase } from '../tracer-seam.js'
import type { StakeInfo } from '../types.js'
import type { RuleSettings } from './settings.js'

/** One phase's view of the op: whose code runs, whether it is staked, and the other entities. */
export interface PhaseView {
  phase: ValidationPhase
  entity: Address
  staked: boolean
  stake?: StakeInfo
  sender: Address
  factory?: Address
  entryPoint: Address
}

export const same = (a: string | undefined, b: string | undefined): boolean =>
  a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase()

export function phaseView(phase: ValidationPhase, entity: Address, ctx: RuleContext): PhaseView {
  const r = ctx.result
  const stake = phase === 'factory' ? r.factory : phase === 'paymaster' ? r.paymaster : r.sender
  return {
    phase,
    entity,
    staked: stake?.isStaked ?? false,
    stake,
    sender: ctx.op.sender,
    factory: factoryEntity(ctx.op),
    entryPoint: ctx.entryPoint,
  }
}

/** The other entities of the op (their storage is no phase's "non-entity" storage). */
export function entityAddresses(ctx: RuleContext): Address[] {
  const out: Address[] = [ctx.op.sender]
  const factory = factoryEntity(ctx.op)
  if (factory) out.push(factory)
  if (ctx.op.paymaster) out.push(ctx.op.paymaster)
  if (ctx.result.aggregator) out.push(ctx.result.aggregator.address)
  return out
}

export function entityName(v: PhaseView): string {
  return `${v.phase === 'account' ? 'account' : v.phase} ${v.entity}`
}

/** "stake 5 < 10 wei" / "unstake delay 10 s < 86400 s": why an entity does not count as staked. */
export function stakeShortfall(stake: StakeInfo | undefined, s: RuleSettings): string {
  if (!stake) return 'no stake'
  const parts: string[] = []
  if (stake.stake < s.minStakeValue) parts.push(`stake ${stake.stake} < ${s.minStakeValue} wei`)
  if (stake.unstakeDelaySec < s.minUnstakeDelaySec)
    parts.push(`unstake delay ${stake.unstakeDelaySec} s < ${s.minUnstakeDelaySec} s`)
  return parts.length > 0 ? parts.join(', ') : 'not staked'
}

export function violation(
  code: number,
  rule: string,
  v: Pick<PhaseView, 'phase' | 'entity'>,
  message: string,
): RuleViolation {
  return { code, rule, entity: { kind: v.phase, address: v.entity }, message }
}
