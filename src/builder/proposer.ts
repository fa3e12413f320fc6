import { type Address, type Hex, type PublicClient, size } from 'viem'
import type { ChainSpec } from '../chain/chain-spec.js'
import type { DaGas } from '../chain/da/da-gas.js'
import { authorizationGas } from '../chain/eip7702.js'
import { entryPointFor } from '../chain/entrypoint/registry.js'
import type { EntryPointModule } from '../chain/entrypoint/types.js'
import { bundleFees, type Fees, type PriorityFeeMode, requiredOpFees } from '../chain/fee-math.js'
import { BUNDLE_FIXED_OVERHEAD_GAS, TX_INTRINSIC_GAS } from '../chain/gas.js'
import type { Pool, PoolOp } from '../pool/types.js'
import { HeadReads } from '../sim/head-reads.js'
import type { ValidationResult, Validator } from '../sim/types.js'
import { RpcError } from '../util/errors.js'
import { type Logger, silentLogger } from '../util/log.js'
import { Aggregation } from './aggregation.js'
import { authorizationList, recheckAuthorizations } from './authorizations.js'
import type { BlockShare } from './block-share.js'
import type { Bundle, NoBundleReason, Proposal } from './bundle.js'
import { checkBundle } from './bundle-check.js'
import { type BundleValidationGas, opGasReserve } from './bundle-gas.js'
import type { OpClaims } from './claims.js'
import { bundleL1Cost, opsCoveringL1Fee } from './l1-fee.js'
import { ProposalRecorder } from './proposal-report.js'
import { type ProposerMetrics, proposerMetrics } from './proposer-metrics.js'
import { resimulate } from './resimulation.js'
import { applyPaymasterDeposits, balanceCap, bundleEconomics, selectCandidates } from './selection.js'
import { withoutStorageConflicts } from './storage-conflicts.js'

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
  /** The validation share of a bundle's gas limit: simulated use with a margin, or the declared limits. */
  validationGas: BundleValidationGas
}

/** A bundle transaction's gas without ops: intrinsic, handleOps' own overhead, its fixed calldata. */
const BUNDLE_TX_FIXED_GAS = TX_INTRINSIC_GAS + BUNDLE_FIXED_OVERHEAD_GAS + 16n * 400n

export const DEFAULT_PROPOSER_SETTINGS: ProposerSettings = {
  maxBundleSize: 128,
  overFetchFactor: 2,
  baseFeeOverheadPercent: 27,
  priorityFeeOverheadPercent: 0,
  priorityFeeMode: { kind: 'priority_fee_increase_percent', value: 0 },
  maxBalancePercent: 90,
  simulationConcurrency: 16,
  validationGas: 'simulated',
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
  /** On an L2 that prices its L1 data fee in preVerificationGas: the oracle, cached per block. */
  daGas?: DaGas
  /** Sender claims across processes sharing the pool: only claimed ops are candidates. */
  claims?: OpClaims
  validator: Validator
  fees: FeeSource
  client: PublicClient
  chainSpec: ChainSpec
  settings: ProposerSettings
  logger?: Logger
  metrics?: ProposerMetrics
  /** The block space this process's senders share: caps a bundle's gas limit (none: no cap). */
  blockShare?: BlockShare
}

/**
 * The seed's bundle proposer: candidates from the pool, bundle fees first and then the least an op
 * must pay, the gas cap, a second simulation at one block (resimulation.ts), paymaster deposits
 * across the bundle, aggregation (aggregation.ts), the handleOps eth_call loop until the bundle
 * passes (bundle-check.ts), and profitability. What it decides about ops (skipped, rejected) and
 * entities (penalties) is in the proposal's report; rejections and penalties reach the pool however
 * the proposal ends, even when a node call fails half-way.
 */
export class BundleProposer {
  private readonly log: Logger
  private readonly metrics: ProposerMetrics
  /** Headers by number, read once for all senders (every sender builds at each head). */
  private readonly blocks: HeadReads

  constructor(private readonly deps: ProposerDeps) {
    this.log = deps.logger ?? silentLogger
    this.blocks = new HeadReads(deps.client)
    this.metrics = deps.metrics ?? proposerMetrics()
  }

  async propose(req: ProposeRequest): Promise<Proposal> {
    const { settings, pool } = this.deps
    const startedAt = performance.now()
    const ep = entryPointFor(req.entryPoint)
    if (!ep) throw new RpcError(-32602, `unsupported entry point ${req.entryPoint}`)
    // The pool first: a sender asks every EntryPoint in turn, and one with nothing pooled should
    // cost no fee reads.
    const pooled = await pool.getOps({
      entryPoint: req.entryPoint,
      maxOps: settings.maxBundleSize * settings.overFetchFactor,
      shardIndex: req.shardIndex,
    })
    const candidates = this.deps.claims
      ? await this.deps.claims.claim(req.signer, req.entryPoint, pooled)
      : pooled
    if (candidates.length === 0) {
      const fees = req.feeFloor ?? { maxFeePerGas: 0n, maxPriorityFeePerGas: 0n }
      return {
        kind: 'none',
        reason: 'no_ops',
        skipped: [],
        rejected: [],
        entityUpdates: [],
        fees,
        baseFee: 0n,
      }
    }
    const est = await this.deps.fees.estimate()
    const fees = bundleFees({
      baseFee: est.baseFee,
      priorityFee: est.priorityFee,
      baseFeeOverheadPercent: settings.baseFeeOverheadPercent,
      priorityFeeOverheadPercent: settings.priorityFeeOverheadPercent,
      floor: req.feeFloor,
    })
    const recorder = new ProposalRecorder(fees, est.baseFee, this.log, this.metrics, startedAt)
    recorder.lap('pool_and_fees')
    try {
      return await this.build(req, ep, candidates, est, recorder)
    } finally {
      await recorder.toPool(pool, req.entryPoint)
      recorder.lap('to_pool')
      this.log.debug({ ops: candidates.length, ...recorder.stages }, 'proposal stages (ms)')
    }
  }

  private async build(
    req: ProposeRequest,
    ep: EntryPointModule,
    candidates: PoolOp[],
    est: { baseFee: bigint; blockNumber: bigint },
    recorder: ProposalRecorder,
  ): Promise<Proposal> {
    const { settings, client } = this.deps
    const report = recorder.report
    const { fees } = report
    const none = (reason: NoBundleReason): Proposal => ({ kind: 'none', reason, ...report })
    // The seed's "maximum gas usage" of an op, by its EntryPoint's rule (with its paymaster context).
    const opGas = (c: PoolOp) => ep.gas.maxGas(c.op, c.validation.paymasterContext)

    const required = requiredOpFees(settings.priorityFeeMode, fees, est.baseFee)
    // Read now, used after the second simulation: under load each node call waits its turn.
    const balance = client.getBalance({ address: req.signer })
    balance.catch(() => undefined) // awaited below; a failure must not be unhandled before then
    const blockGasLimit = await this.blockGasLimit(est.blockNumber)
    const opBytes = (c: PoolOp) => size(ep.encodedOpForCalldata(c.op))
    const shareCap = this.deps.blockShare?.cap(blockGasLimit)
    if (shareCap !== undefined) this.metrics.blockShareGas.set(Number(shareCap))
    const picked = selectCandidates(candidates, {
      required,
      maxBundleGas: this.maxBundleGas(blockGasLimit),
      maxBundleSize: settings.maxBundleSize,
      opGas,
      maxBundleBytes: { limit: this.deps.chainSpec.maxTransactionSizeBytes, opBytes },
      // Calldata priced as all non-zero bytes: the cap holds whatever the ops' bytes are.
      ...(shareCap !== undefined && {
        maxTxGas: {
          limit: shareCap,
          fixed: BUNDLE_TX_FIXED_GAS,
          opTxGas: (c: PoolOp) => opGasReserve(ep, c, settings.validationGas) + 16n * BigInt(opBytes(c)),
        },
      }),
    })
    recorder.skip(picked.skipped)
    // The L1 fee share is re-checked at this block: ops that no longer cover it wait in the pool.
    const { daGas } = this.deps
    const covered = daGas?.spec.da.inPreVerificationGas
      ? await opsCoveringL1Fee(daGas, ep, picked.selected, est.blockNumber, est.baseFee)
      : { kept: picked.selected, skipped: [] }
    recorder.skip(covered.skipped)
    recorder.lap('select')
    if (covered.kept.length === 0) {
      // Ops waiting for the L1 fee are not priced out by the bundle's fees: a replacement would not help.
      return none(picked.skipped.some((s) => s.reason === 'fee_too_low') ? 'priced_out' : 'no_ops')
    }

    // EIP-7702: an authorization applies only at its authority's next nonce.
    const authorized = await recheckAuthorizations(client, covered.kept, est.blockNumber, recorder)
    // Deposits of every paymaster still in the running, read beside the second simulation.
    const deposits = this.paymasterDeposits(ep, authorized)
    deposits.catch(() => undefined) // awaited below
    // Second simulation at one block: whatever no longer validates leaves the bundle and the pool.
    const resimulated = await resimulate(
      { client, validator: this.deps.validator, concurrency: settings.simulationConcurrency },
      req.entryPoint,
      authorized,
      est.blockNumber,
      recorder,
    )
    recorder.lap('resimulate')
    // ERC-7562 STO-040/041 over the whole bundle: an op that conflicts waits for a later bundle.
    const crossed = withoutStorageConflicts(resimulated)
    for (const c of crossed.conflicts) {
      this.log.info({ userOpHash: c.id, rule: c.rule, reason: c.message }, 'op conflicts with the bundle')
    }
    recorder.skip(crossed.skipped)
    const funded = applyPaymasterDeposits(
      crossed.kept,
      await deposits,
      (c) => ep.gas.requiredPrefundGas(c.op) * c.op.maxFeePerGas,
    )
    recorder.skip(funded.skipped)
    for (const s of funded.skipped) {
      const c = crossed.kept.find((k) => k.hash === s.hash)
      if (c?.op.paymaster)
        recorder.penalise({ kind: 'paymaster', address: c.op.paymaster }, 'paymaster_ops_seen_decrement')
    }

    const costCap = balanceCap(await balance, settings.maxBalancePercent)
    recorder.lap('deposits_and_balance')
    const checked = await checkBundle(funded.kept, {
      client,
      ep,
      entryPoint: req.entryPoint,
      signer: req.signer,
      beneficiary: settings.beneficiary ?? req.signer,
      fees,
      costCap,
      aggregation: new Aggregation(client, ep, recorder),
      recorder,
      log: this.log,
      validationGas: settings.validationGas,
    })
    recorder.lap('check')
    if (!checked) {
      if (report.skipped.some((s) => s.reason === 'balance_cap')) return none('insufficient_balance')
      return none(report.rejected.length > 0 ? 'all_rejected' : 'no_ops')
    }

    const ops = checked.groups.flatMap((g) => g.ops)
    const aggregatorGas = checked.groups.reduce((sum, g) => sum + (g.validationGas ?? 0n), 0n)
    // No op pays for its authorization's intrinsic gas: the bundle does.
    const unpaidGas = aggregatorGas + authorizationGas(ops.map((c) => c.op))
    const l1 = daGas
      ? await bundleL1Cost(daGas, req.entryPoint, checked.data, est.blockNumber, est.baseFee)
      : { fee: 0n, gasLimit: 0n }
    const economics = bundleEconomics(ops, checked.data, fees, est.baseFee, unpaidGas, opGas, l1.fee)
    if (economics.revenue < economics.cost) {
      this.log.info(
        { revenue: economics.revenue.toString(), cost: economics.cost.toString(), l1Fee: l1.fee.toString() },
        'bundle unprofitable',
      )
      return none('unprofitable')
    }

    const bundle: Bundle = {
      entryPoint: req.entryPoint,
      version: ep.version,
      groups: checked.groups,
      tx: {
        to: req.entryPoint,
        data: checked.data,
        gas: checked.gas + l1.gasLimit,
        ...fees,
        ...authorizationList(ops),
      },
      blockNumber: est.blockNumber,
      expectedStorage: mergeStorage(ops.map((c) => c.validation)),
    }
    this.metrics.bundleOps.observe(ops.length)
    return { kind: 'bundle', bundle, ...report }
  }

  /** The chain spec's block gas limit, else the block's own. */
  private async blockGasLimit(blockNumber: bigint): Promise<bigint> {
    const { blockGasLimit } = this.deps.chainSpec
    return blockGasLimit !== undefined && blockGasLimit > 0n
      ? blockGasLimit
      : (await this.blocks.block(blockNumber)).gasLimit
  }

  private maxBundleGas(blockGasLimit: bigint): bigint {
    if (this.deps.settings.maxBundleGas !== undefined) return this.deps.settings.maxBundleGas
    const ninety = (blockGasLimit * 9n) / 10n
    return ninety < this.deps.chainSpec.maxTransactionGas ? ninety : this.deps.chainSpec.maxTransactionGas
  }

  private async paymasterDeposits(ep: EntryPointModule, ops: PoolOp[]): Promise<Map<string, bigint>> {
    const paymasters = [
      ...new Set(ops.flatMap((c) => (c.op.paymaster ? [c.op.paymaster.toLowerCase()] : []))),
    ]
    const deposits = new Map<string, bigint>()
    await Promise.all(
      paymasters.map(async (pm) => {
        const balance = (await this.deps.client.readContract({
          address: ep.address,
          abi: ep.abi,
          functionName: 'balanceOf',
          args: [pm as Address],
        })) as bigint
        deposits.set(pm, balance)
      }),
    )
    return deposits
  }
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
