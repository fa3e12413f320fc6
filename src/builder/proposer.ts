import type { Address, Hash, Hex, PublicClient } from 'viem'
import type { ChainSpec } from '../chain/chain-spec.js'
import { type EntryPointVersion, entryPointAbi, versionOf } from '../chain/entrypoint.js'
import { bundleFees, type Fees, type PriorityFeeMode, requiredOpFees } from '../chain/fee-math.js'
import { bundleGasLimit } from '../chain/gas.js'
import {
  aaCategory,
  aaCode,
  decodeRevert,
  describeRevert,
  extractRevertData,
  revertReason,
} from '../chain/revert.js'
import { packUserOp } from '../chain/userop.js'
import type { EntityUpdate, Pool, PoolOp } from '../pool/types.js'
import { settleValidation } from '../sim/batch-outcome.js'
import { BlockReads } from '../sim/precheck-state.js'
import { type BundleCandidate, bundleStorageConflicts, type StorageConflict } from '../sim/rules/index.js'
import type { ValidationResult, Validator } from '../sim/types.js'
import { mapLimit } from '../util/concurrency.js'
import { RpcError } from '../util/errors.js'
import { type Logger, silentLogger } from '../util/log.js'
import type { Bundle, OpGroup, Proposal, ProposalReport, RejectedOp, SkippedOp } from './bundle.js'
import { aggregatorAbi, encodeBundleCall } from './handle-ops.js'
import { type ProposerMetrics, proposerMetrics } from './proposer-metrics.js'
import { applyPaymasterDeposits, balanceCap, bundleEconomics, selectCandidates } from './selection.js'

export interface ProposerSettings {
  maxBundleSize: number
  /** How many candidates to ask the pool for, as a multiple of maxBundleSize (skips leave room). */
  overFetchFactor: number
  baseFeeOverheadPercent: number
  priorityFeeOverheadPercent: number
  priorityFeeMode: PriorityFeeMode
  /** Explicit cap; default 0.9 × the block gas limit, never above the chain's per-transaction cap. */
  maxBundleGas?: bigint
  /** A bundle's maximum cost may use at most this share of the signer's balance. */
  maxBalancePercent: number
  simulationConcurrency: number
  /** Where the EntryPoint pays the ops' fees; default the signer. */
  beneficiary?: Address
}

export const DEFAULT_PROPOSER_SETTINGS: ProposerSettings = {
  maxBundleSize: 128,
  overFetchFactor: 2,
  baseFeeOverheadPercent: 27,
  priorityFeeOverheadPercent: 0,
  priorityFeeMode: { kind: 'priority_fee_increase_percent', value: 0 },
  maxBalancePercent: 90,
  simulationConcurrency: 16,
}

export interface FeeSource {
  estimate(): Promise<{ baseFee: bigint; priorityFee: bigint; blockNumber: bigint }>
}

export interface ProposeRequest {
  entryPoint: Address
  signer: Address
  shardIndex: number
  /** For a replacement: the least fees the tracker will accept (last fees raised by the bump). */
  feeFloor?: Fees
}

export interface ProposerDeps {
  pool: Pool
  validator: Validator
  fees: FeeSource
  client: PublicClient
  chainSpec: ChainSpec
  settings: ProposerSettings
  logger?: Logger
  metrics?: ProposerMetrics
}

/**
 * The seed's bundle proposer: candidates from the pool, bundle fees first and then the least an op
 * must pay, the gas cap, a second simulation at one block, paymaster deposits across the bundle,
 * profitability, aggregation, and the handleOps eth_call loop until the bundle passes.
 */
export class BundleProposer {
  private readonly log: Logger
  private readonly metrics: ProposerMetrics

  constructor(private readonly deps: ProposerDeps) {
    this.log = deps.logger ?? silentLogger
    this.metrics = deps.metrics ?? proposerMetrics()
  }

  async propose(req: ProposeRequest): Promise<Proposal> {
    const { pool, settings } = this.deps
    const version = versionOf(req.entryPoint)
    if (!version) throw new RpcError(-32602, `unsupported entry point ${req.entryPoint}`)
    const est = await this.deps.fees.estimate()
    const fees = bundleFees({
      baseFee: est.baseFee,
      priorityFee: est.priorityFee,
      baseFeeOverheadPercent: settings.baseFeeOverheadPercent,
      priorityFeeOverheadPercent: settings.priorityFeeOverheadPercent,
      floor: req.feeFloor,
    })
    const report: ProposalReport = {
      skipped: [],
      rejected: [],
      entityUpdates: [],
      fees,
      baseFee: est.baseFee,
    }
    const none = (reason: Extract<Proposal, { kind: 'none' }>['reason']): Proposal => ({
      kind: 'none',
      reason,
      ...report,
    })

    const candidates = await pool.getOps({
      entryPoint: req.entryPoint,
      maxOps: settings.maxBundleSize * settings.overFetchFactor,
      shardIndex: req.shardIndex,
    })
    if (candidates.length === 0) return none('no_ops')

    const required = requiredOpFees(settings.priorityFeeMode, fees, est.baseFee)
    const maxBundleGas = await this.maxBundleGas()
    const picked = selectCandidates(candidates, {
      required,
      maxBundleGas,
      maxBundleSize: settings.maxBundleSize,
    })
    this.skip(report, picked.skipped)
    if (picked.selected.length === 0) {
      return none(picked.skipped.some((s) => s.reason === 'fee_too_low') ? 'priced_out' : 'no_ops')
    }

    // Second simulation at one block: whatever no longer validates leaves the bundle and the pool.
    const resimulated = await this.resimulate(req.entryPoint, picked.selected, est.blockNumber, report)
    // ERC-7562 STO-040/041 over the whole bundle: an op that conflicts waits for a later bundle.
    const crossed = withoutStorageConflicts(resimulated)
    for (const c of crossed.conflicts) {
      this.log.info({ userOpHash: c.id, rule: c.rule, reason: c.message }, 'op conflicts with the bundle')
    }
    this.skip(report, crossed.skipped)
    const deposits = await this.paymasterDeposits(version, req.entryPoint, crossed.kept)
    const funded = applyPaymasterDeposits(crossed.kept, deposits)
    this.skip(report, funded.skipped)
    for (const s of funded.skipped) {
      const c = crossed.kept.find((k) => k.hash === s.hash)
      if (c?.op.paymaster) {
        report.entityUpdates.push({
          entity: { kind: 'paymaster', address: c.op.paymaster },
          kind: 'paymaster_ops_seen_decrement',
        })
      }
    }

    const beneficiary = settings.beneficiary ?? req.signer
    const balance = await this.deps.client.getBalance({ address: req.signer })
    const checked = await this.checkHandleOps(version, req, funded.kept, fees, beneficiary, balance, report)
    await this.reportToPool(req.entryPoint, report)
    if (!checked) {
      if (report.skipped.some((s) => s.reason === 'balance_cap')) return none('insufficient_balance')
      return none(report.rejected.length > 0 ? 'all_rejected' : 'no_ops')
    }

    const ops = checked.groups.flatMap((g) => g.ops)
    const economics = bundleEconomics(ops, checked.data, fees, est.baseFee)
    if (economics.revenue < economics.cost) {
      this.log.info(
        { revenue: economics.revenue.toString(), cost: economics.cost.toString() },
        'bundle unprofitable',
      )
      return none('unprofitable')
    }

    const bundle: Bundle = {
      entryPoint: req.entryPoint,
      version,
      groups: checked.groups,
      tx: { to: req.entryPoint, data: checked.data, gas: checked.gas, ...fees },
      blockNumber: est.blockNumber,
      expectedStorage: mergeStorage(ops.map((c) => c.validation)),
    }
    this.metrics.bundleOps.observe(ops.length)
    return { kind: 'bundle', bundle, ...report }
  }

  private async maxBundleGas(): Promise<bigint> {
    if (this.deps.settings.maxBundleGas !== undefined) return this.deps.settings.maxBundleGas
    const block = await this.deps.client.getBlock({ blockTag: 'latest' })
    const ninety = (block.gasLimit * 9n) / 10n
    return ninety < this.deps.chainSpec.maxTransactionGas ? ninety : this.deps.chainSpec.maxTransactionGas
  }

  private async resimulate(
    entryPoint: Address,
    ops: PoolOp[],
    blockNumber: bigint,
    report: ProposalReport,
  ): Promise<PoolOp[]> {
    // One block for the whole bundle: its block and each contract's code are read once.
    const reads = new BlockReads(this.deps.client)
    const { validator, settings } = this.deps
    const opts = { blockNumber, reads, concurrency: settings.simulationConcurrency }
    // validateMany simulates the bundle in one eth_call when it can; otherwise one call per op.
    const outcomes = validator.validateMany
      ? await validator.validateMany(
          entryPoint,
          ops.map((c) => c.op),
          opts,
        )
      : await mapLimit(ops, settings.simulationConcurrency, (c) =>
          settleValidation(validator.validate(entryPoint, c.op, opts)),
        )
    const results = ops.map((c, i): { c: PoolOp; error?: string } => {
      const outcome = outcomes[i]
      if (!outcome) throw new Error(`validator returned ${outcomes.length} outcomes for ${ops.length} ops`)
      // A rejection is the op's fault; a failed RPC call was thrown: the sender retries the proposal.
      if (!outcome.ok) return { c, error: rejectionReason(outcome.error) }
      const changed = changedCode(c.validation, outcome.result)
      if (changed) return { c, error: `code of ${changed} changed since admission` }
      return { c: { ...c, validation: outcome.result } }
    })
    const kept: PoolOp[] = []
    for (const r of results) {
      if (r.error === undefined) kept.push(r.c)
      else this.reject(report, r.c, r.error)
    }
    return kept
  }

  private async paymasterDeposits(
    version: EntryPointVersion,
    entryPoint: Address,
    ops: PoolOp[],
  ): Promise<Map<string, bigint>> {
    const paymasters = [
      ...new Set(ops.flatMap((c) => (c.op.paymaster ? [c.op.paymaster.toLowerCase()] : []))),
    ]
    const deposits = new Map<string, bigint>()
    await Promise.all(
      paymasters.map(async (pm) => {
        const balance = (await this.deps.client.readContract({
          address: entryPoint,
          abi: entryPointAbi(version),
          functionName: 'balanceOf',
          args: [pm as Address],
        })) as bigint
        deposits.set(pm, balance)
      }),
    )
    return deposits
  }

  /**
   * eth_call the whole bundle; on FailedOp blame the entity its AA code names and drop it, until the
   * call passes or nothing is left. A revert that names no op is narrowed down by calling each op alone.
   */
  private async checkHandleOps(
    version: EntryPointVersion,
    req: ProposeRequest,
    initial: PoolOp[],
    fees: Fees,
    beneficiary: Address,
    balance: bigint,
    report: ProposalReport,
  ): Promise<{ groups: OpGroup[]; data: Hex; gas: bigint } | undefined> {
    let ops = initial
    const cap = balanceCap(balance, this.deps.settings.maxBalancePercent)
    for (let round = 0; ops.length > 0 && round <= initial.length + 1; round++) {
      const groups = await this.aggregate(version, ops, report)
      ops = groups.flatMap((g) => g.ops)
      if (ops.length === 0) return undefined
      const data = encodeBundleCall(version, groups, beneficiary)
      const gas = bundleGasLimit(
        ops.map((c) => c.op),
        data,
      )
      if (gas * fees.maxFeePerGas > cap) {
        // Shed the lowest-paying op until the bundle fits the signer's purse.
        const last = ops[ops.length - 1] as PoolOp
        this.skip(report, [{ hash: last.hash, reason: 'balance_cap' }])
        ops = ops.slice(0, -1)
        continue
      }
      const failure = await this.callBundle(req, data, gas, fees)
      if (!failure) return { groups, data, gas }
      const next = await this.dropBlamed(version, req, ops, failure, fees, beneficiary, report)
      if (next.length === ops.length) {
        this.log.warn({ revert: failure }, 'handleOps reverted without naming an op; dropping the last op')
        this.skip(report, [{ hash: (ops[ops.length - 1] as PoolOp).hash, reason: 'bundle_size' }])
        ops = ops.slice(0, -1)
      } else ops = next
    }
    return undefined
  }

  /** undefined when the call passes; the revert data (or '0x') when it reverts. */
  private async callBundle(
    req: ProposeRequest,
    data: Hex,
    gas: bigint,
    fees: Fees,
  ): Promise<Hex | undefined> {
    try {
      await this.deps.client.call({ account: req.signer, to: req.entryPoint, data, gas, ...fees })
      return undefined
    } catch (err) {
      const revert = extractRevertData(err)
      if (revert === undefined && !isExecutionRevert(err)) throw err // node trouble, not an op's fault
      return revert ?? '0x'
    }
  }

  private async dropBlamed(
    version: EntryPointVersion,
    req: ProposeRequest,
    ops: PoolOp[],
    revert: Hex,
    fees: Fees,
    beneficiary: Address,
    report: ProposalReport,
  ): Promise<PoolOp[]> {
    const decoded = decodeRevert(revert)
    if (decoded.kind === 'FailedOp' || decoded.kind === 'FailedOpWithRevert') {
      const culprit = ops[Number(decoded.opIndex)]
      if (!culprit) return ops
      const blamed = blameOf(culprit, decoded.reason)
      this.reject(report, culprit, decoded.reason)
      return ops.filter(
        (c) =>
          c !== culprit &&
          !(blamed && entityAddress(c, blamed.kind)?.toLowerCase() === blamed.address.toLowerCase()),
      )
    }
    if (decoded.kind === 'SignatureValidationFailed') {
      const agg = decoded.aggregator.toLowerCase()
      for (const c of ops)
        if (c.aggregator?.toLowerCase() === agg) this.reject(report, c, 'aggregator signature failed')
      report.entityUpdates.push({
        entity: { kind: 'aggregator', address: decoded.aggregator },
        kind: 'staked_invalidation',
      })
      return ops.filter((c) => c.aggregator?.toLowerCase() !== agg)
    }
    // No op named: call each op alone and drop those that fail by themselves.
    const kept: PoolOp[] = []
    for (const c of ops) {
      const groups: OpGroup[] = [{ aggregator: c.aggregator, ops: [c] }]
      const data = encodeBundleCall(version, groups, beneficiary)
      const alone = await this.callBundle(req, data, bundleGasLimit([c.op], data), fees)
      if (alone === undefined || c.aggregator) kept.push(c)
      else {
        const d = decodeRevert(alone)
        this.reject(report, c, revertReason(d) ?? describeRevert(d))
      }
    }
    return kept
  }

  /** Groups ops by aggregator and asks each aggregator contract for its aggregated signature. */
  private async aggregate(
    version: EntryPointVersion,
    ops: PoolOp[],
    report: ProposalReport,
  ): Promise<OpGroup[]> {
    const byAggregator = new Map<string, PoolOp[]>()
    for (const c of ops) {
      const key = c.aggregator?.toLowerCase() ?? ''
      byAggregator.set(key, [...(byAggregator.get(key) ?? []), c])
    }
    const groups: OpGroup[] = []
    for (const [key, members] of byAggregator) {
      if (key === '') {
        groups.push({ ops: members })
        continue
      }
      const aggregator = members[0]?.aggregator as Address
      try {
        const signature = (await this.deps.client.readContract({
          address: aggregator,
          abi: aggregatorAbi(version),
          functionName: 'aggregateSignatures',
          args: [members.map((c) => packUserOp(c.op))],
        })) as Hex
        groups.push({ aggregator, ops: members, signature })
      } catch (err) {
        if (extractRevertData(err) === undefined && !isExecutionRevert(err)) throw err
        for (const c of members) this.reject(report, c, `aggregator ${aggregator} failed to aggregate`)
        report.entityUpdates.push({
          entity: { kind: 'aggregator', address: aggregator },
          kind: 'staked_invalidation',
        })
      }
    }
    // Plain ops first so an aggregator's failure cannot hide behind them in error indices.
    return groups.sort((a, b) => Number(Boolean(a.aggregator)) - Number(Boolean(b.aggregator)))
  }

  private skip(report: ProposalReport, skipped: SkippedOp[]): void {
    for (const s of skipped) {
      report.skipped.push(s)
      this.metrics.skipped.inc({ reason: s.reason })
      this.log.debug({ userOpHash: s.hash, reason: s.reason }, 'op skipped for this bundle')
    }
  }

  private reject(report: ProposalReport, c: PoolOp, reason: string): void {
    const rejected: RejectedOp = { hash: c.hash, reason }
    report.rejected.push(rejected)
    this.metrics.rejected.inc({ reason: aaCode(reason) ?? 'other' })
    this.log.info({ userOpHash: c.hash, sender: c.op.sender, reason }, 'op rejected by the proposer')
    // A used nonce (AA25) or an account already deployed by this op's initCode (AA10) means the op
    // was mined, e.g. by our own bundle an instant ago: it leaves the pool, nobody broke a rule.
    if (STALE_OP_CODES.has(aaCode(reason) ?? '')) return
    const blamed = blameOf(c, reason) ?? { kind: 'account' as const, address: c.op.sender }
    const staked = stakeOf(c.validation, blamed.kind)
    report.entityUpdates.push({
      entity: blamed,
      kind: staked ? 'staked_invalidation' : 'unstaked_invalidation',
    })
  }

  private async reportToPool(entryPoint: Address, report: ProposalReport): Promise<void> {
    if (report.rejected.length > 0) {
      await this.deps.pool.removeOps(
        entryPoint,
        report.rejected.map((r) => r.hash as Hash),
      )
    }
    if (report.entityUpdates.length > 0) await this.deps.pool.updateEntities(entryPoint, report.entityUpdates)
  }
}

type BlamedKind = 'account' | 'factory' | 'paymaster'

const STALE_OP_CODES = new Set(['AA10', 'AA25'])

/** AA1x blames the factory, AA3x the paymaster, AA2x the account; other reasons blame no entity. */
export function blameOf(c: PoolOp, reason: string): { kind: BlamedKind; address: Address } | undefined {
  const code = aaCode(reason)
  const category = code ? aaCategory(code) : 'other'
  if (category === 'factory' && c.op.factory) return { kind: 'factory', address: c.op.factory }
  if (category === 'paymaster' && c.op.paymaster) return { kind: 'paymaster', address: c.op.paymaster }
  if (category === 'account') return { kind: 'account', address: c.op.sender }
  return undefined
}

/** The EntryPoint's reason ("AA25 invalid account nonce") when the rejection carries one. */
function rejectionReason(err: RpcError): string {
  const reason = (err.data as { reason?: unknown } | undefined)?.reason
  return typeof reason === 'string' && aaCode(reason) ? reason : err.message
}

function entityAddress(c: PoolOp, kind: BlamedKind): Address | undefined {
  if (kind === 'factory') return c.op.factory
  if (kind === 'paymaster') return c.op.paymaster
  return c.op.sender
}

function stakeOf(v: ValidationResult, kind: BlamedKind): boolean {
  if (kind === 'factory') return v.factory?.isStaked ?? false
  if (kind === 'paymaster') return v.paymaster?.isStaked ?? false
  return v.sender.isStaked
}

/**
 * ERC-7562 STO-040/041 over the candidates: an op that uses another op's sender as factory,
 * paymaster or aggregator, or touches its storage, is skipped (it stays pooled for a later bundle),
 * while the op it collides with goes ahead. Skipped ops whose conflicts were all with ops that are
 * themselves skipped get a second chance, in priority order, so two ops that touch each other do
 * not starve each other: the first of them goes.
 */
export function withoutStorageConflicts(ops: PoolOp[]): {
  kept: PoolOp[]
  skipped: SkippedOp[]
  conflicts: StorageConflict[]
} {
  const candidates = ops.map(bundleCandidate)
  const found = bundleStorageConflicts(candidates)
  if (found.length === 0) return { kept: ops, skipped: [], conflicts: [] }
  const offenders = new Set(found.map((f) => f.id))
  const keptIds = new Set(ops.filter((c) => !offenders.has(c.hash)).map((c) => c.hash as string))
  for (const c of candidates) {
    if (keptIds.has(c.id)) continue
    const withIt = candidates.filter((k) => keptIds.has(k.id) || k.id === c.id)
    if (bundleStorageConflicts(withIt).length === 0) keptIds.add(c.id)
  }
  const kept = ops.filter((c) => keptIds.has(c.hash))
  const dropped = ops.filter((c) => !keptIds.has(c.hash))
  return {
    kept,
    skipped: dropped.map((c) => ({ hash: c.hash, reason: 'touches_other_sender' as const })),
    conflicts: found.filter((f) => !keptIds.has(f.id)),
  }
}

function bundleCandidate(c: PoolOp): BundleCandidate {
  return {
    id: c.hash,
    sender: c.op.sender,
    factory: c.op.factory,
    paymaster: c.op.paymaster,
    aggregator: c.aggregator,
    accessedStorage: c.validation.accessedStorage,
  }
}

/** The first address whose code hash differs between admission and now. */
function changedCode(before: ValidationResult, now: ValidationResult): Address | undefined {
  for (const [address, hash] of Object.entries(before.codeHashes) as [Address, Hash][]) {
    const current = now.codeHashes[address]
    if (current !== undefined && current !== hash) return address
  }
  return undefined
}

function mergeStorage(results: ValidationResult[]): Record<Address, Record<Hex, Hex>> {
  const out: Record<Address, Record<Hex, Hex>> = {}
  for (const r of results) {
    for (const [address, slots] of Object.entries(r.accessedStorage) as [Address, Record<Hex, Hex>][]) {
      out[address] = { ...(out[address] ?? {}), ...slots }
    }
  }
  return out
}

function isExecutionRevert(err: unknown): boolean {
  return /execution reverted|revert/i.test(String((err as { message?: string })?.message ?? err))
}

export type { EntityUpdate }
