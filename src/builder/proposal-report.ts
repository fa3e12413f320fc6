import type { Address } from 'viem'
import type { Fees } from '../chain/fee-math.js'
import { aaCategory, aaCode } from '../chain/revert.js'
import type { Entity, EntityUpdateKind, Pool, PoolOp } from '../pool/types.js'
import type { ValidationResult } from '../sim/types.js'
import type { Logger } from '../util/log.js'
import type { ProposalReport, SkippedOp } from './bundle.js'
import type { ProposerMetrics } from './proposer-metrics.js'

type BlamedKind = 'account' | 'factory' | 'paymaster'

/** A used nonce (AA25) or an account already deployed by this op's initCode (AA10): the op was mined. */
const STALE_OP_CODES = new Set(['AA10', 'AA25'])

/**
 * What one proposal decided about ops and entities, as it goes: skipped ops (they stay pooled),
 * rejected ops (they leave the pool) and reputation penalties. `toPool` reports the rejections and
 * penalties; the proposer calls it however the proposal ends, so a node failure half-way through
 * loses none of what was already decided.
 */
export class ProposalRecorder {
  readonly report: ProposalReport
  /** Milliseconds each stage of the proposal took, in order (logged at debug: where build time goes). */
  readonly stages: Record<string, number> = {}
  private lastLap: number

  constructor(
    fees: Fees,
    baseFee: bigint,
    private readonly log: Logger,
    private readonly metrics: ProposerMetrics,
    startedAt = performance.now(),
  ) {
    this.report = { skipped: [], rejected: [], entityUpdates: [], fees, baseFee }
    this.lastLap = startedAt
  }

  /** Ends a stage: the time since the previous one (or the proposal's start) goes under `stage`. */
  lap(stage: string): void {
    const now = performance.now()
    this.stages[stage] = Math.round(now - this.lastLap)
    this.lastLap = now
  }

  skip(skipped: SkippedOp[]): void {
    for (const s of skipped) {
      this.report.skipped.push(s)
      this.metrics.skipped.inc({ reason: s.reason })
      this.log.debug({ userOpHash: s.hash, reason: s.reason }, 'op skipped for this bundle')
    }
  }

  /**
   * `c` leaves the pool for `reason`. The entity to penalise is the one the AA code names (AA1x
   * factory, AA2x account, AA3x paymaster), else `blame`, else the account; none when the op was
   * simply mined already (AA10, AA25), and none when `blame` is `false`.
   */
  reject(c: PoolOp, reason: string, blame?: Entity | false): void {
    this.report.rejected.push({ hash: c.hash, reason })
    this.metrics.rejected.inc({ reason: aaCode(reason) ?? 'other' })
    this.log.info({ userOpHash: c.hash, sender: c.op.sender, reason }, 'op rejected by the proposer')
    if (STALE_OP_CODES.has(aaCode(reason) ?? '') || blame === false) return
    const entity = blameOf(c, reason) ?? blame ?? { kind: 'account' as const, address: c.op.sender }
    this.penalise(
      entity,
      stakeOf(c.validation, entity.kind) ? 'staked_invalidation' : 'unstaked_invalidation',
    )
  }

  penalise(entity: Entity, kind: EntityUpdateKind): void {
    this.report.entityUpdates.push({ entity, kind })
  }

  /** Rejections and penalties to the pool (each at most once). */
  async toPool(pool: Pick<Pool, 'removeOps' | 'updateEntities'>, entryPoint: Address): Promise<void> {
    const { rejected, entityUpdates } = this.report
    if (rejected.length > 0) await pool.removeOps(entryPoint, [...new Set(rejected.map((r) => r.hash))])
    if (entityUpdates.length > 0) await pool.updateEntities(entryPoint, entityUpdates)
  }
}

/** AA1x blames the factory, AA3x the paymaster, AA2x the account; other reasons blame no entity. */
export function blameOf(c: PoolOp, reason: string): { kind: BlamedKind; address: Address } | undefined {
  const code = aaCode(reason)
  const category = code ? aaCategory(code) : 'other'
  if (category === 'factory' && c.op.factory) return { kind: 'factory', address: c.op.factory }
  if (category === 'paymaster' && c.op.paymaster) return { kind: 'paymaster', address: c.op.paymaster }
  if (category === 'account') return { kind: 'account', address: c.op.sender }
  return undefined
}

/** The op's address for an entity kind (an aggregator is the validation's). */
export function entityAddress(c: PoolOp, kind: Entity['kind']): Address | undefined {
  if (kind === 'factory') return c.op.factory
  if (kind === 'paymaster') return c.op.paymaster
  if (kind === 'aggregator') return c.aggregator
  return c.op.sender
}

function stakeOf(v: ValidationResult, kind: Entity['kind']): boolean {
  if (kind === 'factory') return v.factory?.isStaked ?? false
  if (kind === 'paymaster') return v.paymaster?.isStaked ?? false
  if (kind === 'aggregator') return v.aggregator?.stake.isStaked ?? false
  return v.sender.isStaked
}
