import {
  type Address,
  decodeAbiParameters,
  decodeErrorResult,
  encodeFunctionData,
  type Hex,
  type PublicClient,
  slice,
  toFunctionSelector,
} from 'viem'
import { type EntryPointVersion, entryPointArtifact, versionOf } from '../chain/entrypoint.js'
import { decodeRevert, describeRevert } from '../chain/revert.js'
import { packUserOp, type UserOperation, userOpHash } from '../chain/userop.js'
import { invalidParams, RpcCode, RpcError } from '../util/errors.js'
import { maxBig, minBig } from './bigmath.js'
import { estimationOverrides } from './estimation-overrides.js'
import { GAS_PROBE_ABI, GAS_PROBE_ADDRESS } from './gas-probe.js'
import { maxOpGasFor } from './precheck.js'
import { estimatePreVerificationGas } from './pvg.js'
import { rejectionForRevert } from './reject.js'
import { searchLeastPassing } from './search.js'
import type { SimSettings } from './settings.js'
import {
  type CallOutcome,
  callSimulation,
  decodeSimulateHandleOp,
  encodeSimulateHandleOp,
  encodeSimulateValidation,
  simulationsAbi,
} from './sim-call.js'
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
const EXECUTE_USER_OP = toFunctionSelector(
  'executeUserOp((address,uint256,bytes,bytes,bytes32,uint256,bytes32,bytes,bytes),bytes32)',
)

/**
 * eth_estimateUserOperationGas for v0.7/v0.8, all against one pinned block with the
 * EntryPointSimulations override:
 * - verificationGasLimit and paymasterVerificationGasLimit: binary search over simulateValidation
 *   (the two searches run side by side, each with the other limit at its cap), plus a margin;
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
    draft: UserOperationDraft,
    stateOverride: StateOverrideSet = {},
  ): Promise<GasEstimate> {
    const version = versionOf(entryPoint)
    if (!version) throw invalidParams(`unsupported entry point ${entryPoint}`)
    const { client, settings } = this.deps
    const block = await client.getBlock({ blockTag: 'latest' })
    const blockNumber = block.number
    if (blockNumber === null) throw new Error('latest block has no number')

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
    const pmCap = draft.paymaster ? settings.maxVerificationGas : 0n
    if (draft.paymaster) {
      base.paymasterVerificationGasLimit = pmCap
      base.paymasterPostOpGasLimit = draft.paymasterPostOpGasLimit ?? 0n
    }
    const callCap = maxOpGasFor({ senderCode: '0x', baseFee: 0n, blockGasLimit: block.gasLimit }, settings)
    const maxPrefund = (vCap + pmCap + callCap + (base.paymasterPostOpGasLimit ?? 0n)) * maxFeePerGas
    const balance = draft.paymaster ? 0n : await client.getBalance({ address: draft.sender, blockNumber })
    const overrides = estimationOverrides({
      version,
      entryPoint,
      sender: draft.sender,
      paymaster: draft.paymaster,
      senderBalance: balance + maxPrefund,
      user: stateOverride,
    })
    const run = (data: Hex): Promise<CallOutcome> =>
      callSimulation(client, { entryPoint, version, data, blockNumber, stateOverride: overrides })
    const validates = async (op: UserOperation) => (await run(encodeSimulateValidation(version, op))).ok

    // Validation must pass at the caps; if not, it is the op that is wrong, not the limits.
    const atCaps = await run(encodeSimulateValidation(version, base))
    if (!atCaps.ok) throw rejectionForRevert(atCaps.revert)

    const [vgl, pmvgl] = await Promise.all([
      searchLeastPassing(0n, vCap, tolerance(vCap), (v) => validates({ ...base, verificationGasLimit: v })),
      draft.paymaster
        ? searchLeastPassing(0n, pmCap, tolerance(pmCap), (v) =>
            validates({ ...base, paymasterVerificationGasLimit: v }),
          )
        : Promise.resolve({ value: 0n, iterations: 0 }),
    ])
    const limits: UserOperation = {
      ...base,
      verificationGasLimit: withMargin(vgl.value),
      ...(draft.paymaster ? { paymasterVerificationGasLimit: withMargin(pmvgl.value) } : {}),
    }
    const [final, callGasLimit] = await Promise.all([
      run(encodeSimulateValidation(version, limits)),
      this.callGas(version, entryPoint, limits, callCap, run),
    ])
    if (!final.ok) throw rejectionForRevert(final.revert)

    const estimated: UserOperation = {
      ...limits,
      callGasLimit,
      maxFeePerGas: draft.maxFeePerGas ?? 0n,
      maxPriorityFeePerGas: draft.maxPriorityFeePerGas ?? 0n,
    }
    const result: GasEstimate = {
      preVerificationGas: estimatePreVerificationGas(estimated, settings.chainSpec),
      verificationGasLimit: estimated.verificationGasLimit,
      callGasLimit,
    }
    if (draft.paymaster) {
      result.paymasterVerificationGasLimit = estimated.paymasterVerificationGasLimit
      result.paymasterPostOpGasLimit = estimated.paymasterPostOpGasLimit
    }
    return result
  }

  /** callGasLimit by the gas probe: measure at the cap, then prove (or search) the limit. */
  private async callGas(
    version: EntryPointVersion,
    entryPoint: Address,
    op: UserOperation,
    cap: bigint,
    run: (data: Hex) => Promise<CallOutcome>,
  ): Promise<bigint> {
    if (op.callData === '0x') return 0n
    const inner = executionCallData(version, entryPoint, op)
    // The op itself executes nothing: the probe runs its call once validation (and deployment) did.
    const carrier: UserOperation = { ...op, callData: '0x', callGasLimit: 0n }
    const probe = async (limit: bigint): Promise<ProbeResult> => {
      const out = await run(
        encodeSimulateHandleOp(version, carrier, entryPoint, delegateProbe(version, op.sender, inner, limit)),
      )
      if (!out.ok) throw rejectionForRevert(out.revert)
      return decodeProbe(version, decodeSimulateHandleOp(version, out.data).targetResult)
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

function tolerance(range: bigint): bigint {
  return maxBig(range / 200n, MIN_TOLERANCE)
}

function withMargin(gas: bigint): bigint {
  return (gas * (100n + VERIFICATION_MARGIN_PERCENT) + 99n) / 100n
}

/** What the EntryPoint sends the account: callData, or executeUserOp(op, hash) for IAccountExecute. */
function executionCallData(version: EntryPointVersion, entryPoint: Address, op: UserOperation): Hex {
  if (op.callData.length < 10 || slice(op.callData, 0, 4) !== EXECUTE_USER_OP) return op.callData
  // The chain id only changes the hash's bytes, not the gas of hashing or passing it.
  return encodeFunctionData({
    abi: entryPointArtifact(version, 'IAccountExecute').abi,
    functionName: 'executeUserOp',
    args: [packUserOp(op), userOpHash(op, entryPoint, 1, version)],
  })
}

/** EntryPoint.delegateAndRevert(probe, probe(sender, data, limit)) as simulateHandleOp's target call. */
function delegateProbe(version: EntryPointVersion, sender: Address, data: Hex, limit: bigint): Hex {
  return encodeFunctionData({
    abi: simulationsAbi(version),
    functionName: 'delegateAndRevert',
    args: [
      GAS_PROBE_ADDRESS,
      encodeFunctionData({ abi: GAS_PROBE_ABI, functionName: 'probe', args: [sender, data, limit] }),
    ],
  })
}

interface ProbeResult {
  success: boolean
  gasUsed: bigint
  result: Hex
}

function decodeProbe(version: EntryPointVersion, targetResult: Hex): ProbeResult {
  const err = decodeErrorResult({ abi: simulationsAbi(version), data: targetResult })
  if (err.errorName !== 'DelegateAndRevert') throw new Error(`gas probe: unexpected ${err.errorName}`)
  const [ok, ret] = err.args as readonly [boolean, Hex]
  if (!ok) throw new Error(`gas probe failed: ${describeRevert(decodeRevert(ret))}`)
  const [success, gasUsed, result] = decodeAbiParameters(
    [{ type: 'bool' }, { type: 'uint256' }, { type: 'bytes' }],
    ret,
  )
  return { success, gasUsed, result }
}
