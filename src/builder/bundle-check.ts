import type { Address, Hex, PublicClient, SignedAuthorization } from 'viem'
import { authorizationGas } from '../chain/eip7702.js'
import type { EntryPointModule } from '../chain/entrypoint/types.js'
import type { Fees } from '../chain/fee-math.js'
import {
  type DecodedRevert,
  decodeRevert,
  describeRevert,
  extractRevertData,
  isEvmHalt,
} from '../chain/revert.js'
import type { PoolOp } from '../pool/types.js'
import type { Logger } from '../util/log.js'
import type { Aggregation } from './aggregation.js'
import { authorizationList } from './authorizations.js'
import type { OpGroup } from './bundle.js'
import { type BundleValidationGas, bundleGas } from './bundle-gas.js'
import { encodeBundleCall } from './handle-ops.js'
import { blameOf, entityAddress, type ProposalRecorder } from './proposal-report.js'

export interface BundleCheckInput {
  client: PublicClient
  ep: EntryPointModule
  entryPoint: Address
  signer: Address
  beneficiary: Address
  fees: Fees
  /** The most the bundle may cost at its gas limit and maxFeePerGas (a share of the signer's balance). */
  costCap: bigint
  aggregation: Aggregation
  recorder: ProposalRecorder
  log: Logger
  /** How the validation share of the gas limit is reserved (bundle-gas.ts). */
  validationGas: BundleValidationGas
}

export interface CheckedBundle {
  groups: OpGroup[]
  data: Hex
  gas: bigint
  /** handleOps eth_calls made. */
  calls: number
}

/**
 * The seed's last step: "the entire bundle is validated via an eth_call, and ops that fail
 * validation are again removed from the bundle ... repeated until the entire bundle passes". Each
 * round (aggregation per group, then the cost cap: no call is made while the bundle would cost more
 * than `costCap`, the lowest-paying op is shed instead) makes one handleOps eth_call at the
 * bundle's gas limit, and a second at the declared limits when a simulated reserve was used and
 * the first reverted as a gas shortfall would (AA95, or no data); every round that reverts removes
 * at least one op.
 * - FailedOp(i): op i is rejected, blamed by its AA code (AA1x factory, AA2x account, AA3x
 *   paymaster); other ops of a blamed factory or paymaster leave the bundle with it.
 * - SignatureValidationFailed(aggregator): that aggregator's group is rejected, the aggregator penalised.
 * - A revert that names no op: the last op is set aside and the call repeated. The first call that
 *   does not revert that way settles it: the op set aside last is the one whose presence made the
 *   bundle revert (the bundle passes, or fails otherwise, without it), and it is rejected with the
 *   revert as its reason; the ops set aside before it were never tried and stay pooled
 *   ('behind_unnamed_revert'). If the ops run out, the first op, reverting alone, is the culprit.
 * Node trouble (no revert) is thrown: what was decided so far is in `recorder`.
 */
export async function checkBundle(
  initial: PoolOp[],
  x: BundleCheckInput,
): Promise<CheckedBundle | undefined> {
  let ops = initial
  let calls = 0
  /** Ops set aside after a revert naming no op, in the order they were set aside. */
  const aside: PoolOp[] = []
  let unnamed: DecodedRevert | undefined
  const settle = () => {
    const culprit = aside.pop()
    if (!culprit || !unnamed) return
    x.recorder.reject(
      culprit,
      `bundle reverted without naming an op (${describeRevert(unnamed)}); it passes without this op`,
    )
    x.recorder.skip(aside.map((c) => ({ hash: c.hash, reason: 'behind_unnamed_revert' as const })))
    aside.length = 0
    unnamed = undefined
  }
  while (ops.length > 0) {
    const groups = await x.aggregation.group(ops)
    ops = groups.flatMap((g) => g.ops)
    if (ops.length === 0) break
    const data = encodeBundleCall(x.ep, groups, x.beneficiary)
    const aggregatorGas = groups.reduce((sum, g) => sum + (g.validationGas ?? 0n), 0n)
    // Each authorization adds its intrinsic cost to the type-4 transaction.
    const extra = aggregatorGas + authorizationGas(ops.map((c) => c.op))
    const declared = bundleGas(x.ep, ops, data, 'declared') + extra
    let gas = x.validationGas === 'declared' ? declared : bundleGas(x.ep, ops, data, x.validationGas) + extra
    if (gas * x.fees.maxFeePerGas > x.costCap) {
      // Shed the lowest-paying op until the bundle fits the signer's purse.
      x.recorder.skip([{ hash: (ops[ops.length - 1] as PoolOp).hash, reason: 'balance_cap' }])
      ops = ops.slice(0, -1)
      continue
    }
    calls++
    const auths = authorizationList(ops)
    let failure = await callBundle(x, data, gas, auths)
    if (
      failure !== undefined &&
      gas < declared &&
      mayBeGasShortfall(failure) &&
      declared * x.fees.maxFeePerGas <= x.costCap
    ) {
      // The simulated reserve may be what fell short: an op is only blamed for a failure that its
      // declared limits do not cure, and then the bundle goes out with them.
      calls++
      const again = await callBundle(x, data, declared, auths)
      if (again === undefined) {
        x.log.warn(
          { ops: ops.length, gas: gas.toString(), declared: declared.toString() },
          'bundle passes only with the declared validation limits; sending it with them',
        )
        gas = declared
      }
      failure = again
    }
    if (failure === undefined) {
      settle()
      return { groups, data, gas, calls }
    }
    const decoded = decodeRevert(failure.revert)
    const failedOp =
      decoded.kind === 'FailedOp' || decoded.kind === 'FailedOpWithRevert' ? decoded : undefined
    const agg = decoded.kind === 'SignatureValidationFailed' ? decoded.aggregator.toLowerCase() : undefined
    if (failedOp && ops[Number(failedOp.opIndex)]) {
      settle()
      ops = dropFailedOp(ops, failedOp, x.recorder)
    } else if (agg && ops.some((c) => c.aggregator?.toLowerCase() === agg)) {
      settle()
      ops = dropAggregator(
        ops,
        decoded as Extract<DecodedRevert, { kind: 'SignatureValidationFailed' }>,
        x.recorder,
      )
    } else {
      // Names no op of this bundle (a FailedOp index or aggregator outside it counts as naming none).
      x.log.info(
        { revert: describeRevert(decoded), ops: ops.length },
        'bundle reverted without naming an op; setting the last op aside',
      )
      unnamed = decoded
      aside.push(ops[ops.length - 1] as PoolOp)
      ops = ops.slice(0, -1)
    }
  }
  settle()
  return undefined
}

/** How a handleOps eth_call failed: its revert data ('0x' if none), and whether the EVM halted. */
interface CallFailure {
  revert: Hex
  halted: boolean
}

/** undefined when the call passes. */
async function callBundle(
  x: BundleCheckInput,
  data: Hex,
  gas: bigint,
  auths: { authorizationList?: SignedAuthorization[] },
): Promise<CallFailure | undefined> {
  try {
    // With the ops' authorizations, as the type-4 bundle will carry them.
    await x.client.call({ account: x.signer, to: x.entryPoint, data, gas, ...x.fees, ...auths })
    return undefined
  } catch (err) {
    const revert = extractRevertData(err)
    // Node trouble is thrown; a revert, or an exceptional halt (v0.6 halts when a postOp runs out
    // of gas), is the bundle's.
    const halted = revert === undefined && isEvmHalt(err)
    if (revert === undefined && !isExecutionRevert(err) && !halted) throw err
    return { revert: revert ?? '0x', halted }
  }
}

/**
 * A failure a short gas limit can cause: validation still has every op's call and postOp share to
 * draw on, so a shortfall shows in the execution loop, as "AA95 out of gas" for a later op, or as
 * an out-of-gas halt when the transaction runs dry at its end.
 */
function mayBeGasShortfall(f: CallFailure): boolean {
  const d = decodeRevert(f.revert)
  if (d.kind === 'FailedOp' || d.kind === 'FailedOpWithRevert') return d.reason.startsWith('AA95')
  return f.halted
}

function dropFailedOp(
  ops: PoolOp[],
  failed: Extract<DecodedRevert, { kind: 'FailedOp' | 'FailedOpWithRevert' }>,
  recorder: ProposalRecorder,
): PoolOp[] {
  const culprit = ops[Number(failed.opIndex)] as PoolOp
  const blamed = blameOf(culprit, failed.reason)
  recorder.reject(culprit, failed.reason)
  return ops.filter(
    (c) =>
      c !== culprit &&
      !(
        blamed &&
        blamed.kind !== 'account' &&
        entityAddress(c, blamed.kind)?.toLowerCase() === blamed.address.toLowerCase()
      ),
  )
}

function dropAggregator(
  ops: PoolOp[],
  failed: Extract<DecodedRevert, { kind: 'SignatureValidationFailed' }>,
  recorder: ProposalRecorder,
): PoolOp[] {
  const { aggregator } = failed
  const agg = aggregator.toLowerCase()
  for (const c of ops) {
    if (c.aggregator?.toLowerCase() === agg)
      recorder.reject(c, `aggregator ${aggregator}: signature validation failed in the bundle`, false)
  }
  recorder.penalise({ kind: 'aggregator', address: aggregator }, 'staked_invalidation')
  return ops.filter((c) => c.aggregator?.toLowerCase() !== agg)
}

function isExecutionRevert(err: unknown): boolean {
  return /execution reverted|revert/i.test(String((err as { message?: string })?.message ?? err))
}
