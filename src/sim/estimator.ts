import {
  type Address,
  decodeAbiParameters,
  decodeErrorResult,
  encodeFunctionData,
  type Hex,
  type PublicClient,
} from 'viem'
import { opGasPrice } from '../chain/da/da-gas.js'
import { delegationOverride, isEip7702Op, withChainDelegate } from '../chain/eip7702.js'
import { entryPointFor } from '../chain/entrypoint/registry.js'
import type { EntryPointModule } from '../chain/entrypoint/types.js'
import { decodeRevert, describeRevert, isEvmHalt } from '../chain/revert.js'
import type { UserOperation } from '../chain/userop.js'
import { invalidParams, RpcCode, RpcError } from '../util/errors.js'
import { maxBig, minBig } from './bigmath.js'
import { estimationOverrides } from './estimation-overrides.js'
import { GAS_PROBE_ABI, GAS_PROBE_ADDRESS } from './gas-probe.js'
import { maxOpGasFor } from './precheck.js'
import { BlockReads } from './precheck-state.js'
import { estimatePreVerificationGas, withDaHeadroom, worstCaseOp } from './pvg.js'
import { rejectionForRevert } from './reject.js'
import { searchLeastPassing } from './search.js'
import type { SimSettings } from './settings.js'
import { type CallOutcome, callSimulation, mergeOverrides } from './sim-call.js'
import type { GasEstimate, GasEstimator, StateOverrideSet, UserOperationDraft } from './types.js'

export interface EstimatorDeps {
  client: PublicClient
  settings: SimSettings
}

/** Verification limits get this much on top of the least passing value (signature paths differ). */
const VERIFICATION_MARGIN_PERCENT = 10n
/** Search precision: 1/200 of the range, never finer than this. */
const MIN_TOLERANCE = 500n
/** Fee used while simulating when the draft has none: non-zero, so the prefund path is exercised. */
const NOMINAL_FEE = 1n
/** DelegateAndRevert(bool,bytes): how v0.7+'s EntryPoint (and Conveyor's v0.6 proxy) report the probe. */
const DELEGATE_AND_REVERT_ABI = [
  {
    type: 'error',
    name: 'DelegateAndRevert',
    inputs: [
      { name: 'success', type: 'bool' },
      { name: 'ret', type: 'bytes' },
    ],
  },
] as const

/**
 * eth_estimateUserOperationGas for every EntryPoint version, all against one pinned block with the
 * simulation its module describes (v0.6: the EntryPoint's own simulation methods; v0.7+: the
 * EntryPointSimulations override):
 * - verificationGasLimit and (v0.7+) paymasterVerificationGasLimit: binary search over
 *   simulateValidation (the two searches run side by side, each with the other limit at its cap),
 *   plus a margin. v0.6's one verificationGasLimit also limits the paymaster's postOp: with a
 *   paymaster the search runs simulateHandleOp, which includes it;
 * - callGasLimit: measured by the gas probe run as simulateHandleOp's target after validation (and
 *   deployment), set to the measure plus the 63/64 reserve, proven by a probe call at that very
 *   limit (searched upwards if that fails);
 * - preVerificationGas: the calldata-and-overhead formula at the worst case of the fields the signer
 *   still fills in (pvg.ts).
 * paymasterPostOpGasLimit is taken from the draft (not searched).
 */
export class GasEstimatorImpl implements GasEstimator {
  constructor(private readonly deps: EstimatorDeps) {}

  async estimate(
    entryPoint: Address,
    given: UserOperationDraft,
    stateOverride: StateOverrideSet = {},
  ): Promise<GasEstimate> {
    const ep = entryPointFor(entryPoint)
    if (!ep) throw invalidParams(`unsupported entry point ${entryPoint}`)
    const sim = ep.simulation
    const searched = ep.gas.estimated
    const { client, settings } = this.deps
    const block = await client.getBlock({ blockTag: 'latest' })
    const blockNumber = block.number
    if (blockNumber === null) throw new Error('latest block has no number')
    // A 7702 op runs with its authorization applied (its signature is checked at admission, as
    // SDKs estimate with a dummy one); without one the sender must be delegated already.
    const draft =
      ep.eip7702 && isEip7702Op(given) && !given.eip7702Auth
        ? withChainDelegate(
            given as UserOperation,
            (await client.getCode({ address: given.sender, blockNumber })) ?? '0x',
          )
        : given

    const maxFeePerGas = maxBig(draft.maxFeePerGas ?? 0n, NOMINAL_FEE)
    const base: UserOperation = {
      ...draft,
      callGasLimit: draft.callGasLimit ?? 0n,
      verificationGasLimit: settings.maxVerificationGas,
      preVerificationGas: 0n,
      maxFeePerGas,
      maxPriorityFeePerGas: minBig(draft.maxPriorityFeePerGas ?? maxFeePerGas, maxFeePerGas),
    }
    const vCap = settings.maxVerificationGas
    const pmCap = draft.paymaster && searched.paymasterLimits ? settings.maxVerificationGas : 0n
    if (draft.paymaster && searched.paymasterLimits) {
      base.paymasterVerificationGasLimit = pmCap
      base.paymasterPostOpGasLimit = draft.paymasterPostOpGasLimit ?? 0n
    }
    const callCap = maxOpGasFor({ senderCode: '0x', baseFee: 0n, blockGasLimit: block.gasLimit }, settings)
    const maxPrefund = (vCap + pmCap + callCap + (base.paymasterPostOpGasLimit ?? 0n)) * maxFeePerGas
    const balance = draft.paymaster ? 0n : await client.getBalance({ address: draft.sender, blockNumber })
    const overrides = estimationOverrides({
      simulation: sim,
      entryPoint,
      sender: draft.sender,
      paymaster: draft.paymaster,
      senderBalance: balance + maxPrefund,
      user: mergeOverrides(delegationOverride(draft as UserOperation), stateOverride),
    })
    const run = (data: Hex, extra: StateOverrideSet = {}): Promise<CallOutcome> =>
      callSimulation(client, {
        entryPoint,
        data,
        blockNumber,
        stateOverride: mergeOverrides(overrides, extra),
      })
    // v0.6 with a paymaster: verificationGasLimit must also carry postOp, which only
    // simulateHandleOp runs (the op's own call left out: the probe measures that).
    const withPostOp = searched.verificationCoversPostOp && draft.paymaster !== undefined
    const validation = async (op: UserOperation) =>
      withPostOp
        ? sim.decodeHandleOp(
            await haltsFail(run(sim.handleOp({ ...op, callData: '0x', callGasLimit: 0n }, ZERO, '0x'))),
          )
        : sim.decodeValidation(await run(sim.validation(op)), op)
    const validates = async (op: UserOperation) => (await validation(op)).ok

    // Validation must pass at the caps; if not, it is the op that is wrong, not the limits.
    const atCaps = await validation(base)
    if (!atCaps.ok) throw rejectionForRevert(atCaps.revert)

    const [vgl, pmvgl] = await Promise.all([
      searchLeastPassing(0n, vCap, tolerance(vCap), (v) => validates({ ...base, verificationGasLimit: v })),
      pmCap > 0n
        ? searchLeastPassing(0n, pmCap, tolerance(pmCap), (v) =>
            validates({ ...base, paymasterVerificationGasLimit: v }),
          )
        : Promise.resolve({ value: 0n, iterations: 0 }),
    ])
    const limits: UserOperation = {
      ...base,
      verificationGasLimit: withMargin(vgl.value),
      ...(pmCap > 0n ? { paymasterVerificationGasLimit: withMargin(pmvgl.value) } : {}),
    }
    const reads = new BlockReads(client)
    const [final, callGasLimit] = await Promise.all([
      validation(limits),
      this.callGas(ep, limits, callCap, { run, reads, blockNumber }),
    ])
    if (!final.ok) throw rejectionForRevert(final.revert)

    const estimated: UserOperation = {
      ...limits,
      callGasLimit,
      maxFeePerGas: draft.maxFeePerGas ?? 0n,
      maxPriorityFeePerGas: draft.maxPriorityFeePerGas ?? 0n,
    }
    const daGas = await this.daGas(ep, estimated, blockNumber, block.baseFeePerGas ?? 0n)
    const result: GasEstimate = {
      preVerificationGas: estimatePreVerificationGas(estimated, settings.chainSpec, ep) + daGas,
      verificationGasLimit: estimated.verificationGasLimit,
      callGasLimit,
    }
    if (pmCap > 0n) {
      result.paymasterVerificationGasLimit = estimated.paymasterVerificationGasLimit
      result.paymasterPostOpGasLimit = estimated.paymasterPostOpGasLimit
    }
    return result
  }

  /**
   * On an L2: the op's share of the L1 data fee as gas at the draft's fees (at the base fee when the
   * draft names none: the lowest price it can pay, so the most gas), with the documented headroom.
   */
  private async daGas(
    ep: EntryPointModule,
    op: UserOperation,
    blockNumber: bigint,
    baseFee: bigint,
  ): Promise<bigint> {
    const { daGas } = this.deps.settings
    if (!daGas?.spec.da.inPreVerificationGas) return 0n
    const price = op.maxFeePerGas > 0n ? opGasPrice(op, baseFee) : baseFee
    const share = await daGas.opDaGas(
      ep.address,
      worstCaseOp(op),
      blockNumber,
      price,
      ep.encodedOpForCalldata,
    )
    return withDaHeadroom(share)
  }

  /** callGasLimit by the gas probe: measure at the cap, then prove (or search) the limit. */
  private async callGas(
    ep: EntryPointModule,
    op: UserOperation,
    cap: bigint,
    at: ProbeContext,
  ): Promise<bigint> {
    if (op.callData === '0x') return 0n
    const sim = ep.simulation
    // The chain id only changes the bytes of executeUserOp's hash argument, not its gas.
    const inner = sim.executionCallData(op, 1)
    // The op itself executes nothing: the probe runs its call once validation (and deployment) did.
    const carrier: UserOperation = { ...op, callData: '0x', callGasLimit: 0n }
    const probe = async (limit: bigint): Promise<ProbeResult> => {
      const target = await sim.delegateAndRevert(
        GAS_PROBE_ADDRESS,
        encodeFunctionData({ abi: GAS_PROBE_ABI, functionName: 'probe', args: [op.sender, inner, limit] }),
        { reads: at.reads, blockNumber: at.blockNumber },
      )
      const out = sim.decodeHandleOp(
        await at.run(sim.handleOp(carrier, target.to, target.data), target.stateOverride),
      )
      if (!out.ok) throw rejectionForRevert(out.revert)
      return decodeProbe(out.result.targetResult)
    }
    const measured = await probe(cap)
    if (!measured.success) {
      const decoded = decodeRevert(measured.result)
      throw new RpcError(RpcCode.ExecutionReverted, `execution reverted: ${describeRevert(decoded)}`, {
        revertData: measured.result,
      })
    }
    // A call that forwards gas onwards keeps 1/64 back at each level: give the measure that reserve.
    const candidate = minBig(cap, (measured.gasUsed * 64n) / 63n + 2_000n)
    if ((await probe(candidate)).success) return candidate
    const { value } = await searchLeastPassing(candidate, cap, tolerance(cap - candidate), async (limit) => {
      return (await probe(limit)).success
    })
    return value
  }
}

/**
 * An exceptional halt is a failed try at these limits, not node trouble: v0.6 halts when the postOp
 * runs out of gas (test/entrypoint-v06.test.ts).
 */
async function haltsFail(outcome: Promise<CallOutcome>): Promise<CallOutcome> {
  try {
    return await outcome
  } catch (err) {
    if (isEvmHalt(err)) return { ok: false, revert: '0x' }
    throw err
  }
}

interface ProbeContext {
  run: (data: Hex, extra?: StateOverrideSet) => Promise<CallOutcome>
  reads: BlockReads
  blockNumber: bigint
}

const ZERO: Address = '0x0000000000000000000000000000000000000000'

function tolerance(range: bigint): bigint {
  return maxBig(range / 200n, MIN_TOLERANCE)
}

function withMargin(gas: bigint): bigint {
  return (gas * (100n + VERIFICATION_MARGIN_PERCENT) + 99n) / 100n
}

interface ProbeResult {
  success: boolean
  gasUsed: bigint
  result: Hex
}

function decodeProbe(targetResult: Hex): ProbeResult {
  const err = decodeErrorResult({ abi: DELEGATE_AND_REVERT_ABI, data: targetResult })
  if (err.errorName !== 'DelegateAndRevert') throw new Error(`gas probe: unexpected ${err.errorName}`)
  const [ok, ret] = err.args as readonly [boolean, Hex]
  if (!ok) throw new Error(`gas probe failed: ${describeRevert(decodeRevert(ret))}`)
  const [success, gasUsed, result] = decodeAbiParameters(
    [{ type: 'bool' }, { type: 'uint256' }, { type: 'bytes' }],
    ret,
  )
  return { success, gasUsed, result }
}
