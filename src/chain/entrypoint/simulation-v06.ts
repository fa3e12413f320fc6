import {
  type Abi,
  type Address,
  decodeErrorResult,
  encodeFunctionData,
  getAddress,
  type Hex,
  numberToHex,
  toFunctionSelector,
  zeroAddress,
} from 'viem'
import { entryPointAbi } from '../entrypoint.js'
import type { UserOperation } from '../userop.js'
import { depositSlot } from './simulation-packed.js'
import type { RawValidationResult, SimulationSurface } from './types.js'
import { toV06Struct } from './v06-op.js'
import { V06_PROXY_ABI, V06_PROXY_CODE } from './v06-proxy.js'

const V06_OP = '(address,uint256,bytes,bytes,uint256,uint256,uint256,uint256,uint256,bytes,bytes)'
const U48_MAX = (1n << 48n) - 1n
const U112_MAX = (1n << 112n) - 1n

/** Where the v0.6 EntryPoint's own code goes when the estimation proxy stands at its address. */
export const V06_PROXY_IMPLEMENTATION: Address = getAddress('0x00000000000000000000000000c0ffee0e060601')

interface V06ReturnInfo {
  preOpGas: bigint
  prefund: bigint
  sigFailed: boolean
  validAfter: bigint | number
  validUntil: bigint | number
  paymasterContext: Hex
}
interface V06StakeInfo {
  stake: bigint
  unstakeDelaySec: bigint
}

/** v0.6's ValidationResult in the v0.7 EntryPointSimulations' terms the rest of Conveyor reads. */
function toRawValidationResult(
  op: UserOperation,
  r: V06ReturnInfo,
  sender: V06StakeInfo,
  factory: V06StakeInfo,
  paymaster: V06StakeInfo,
  aggregator?: { aggregator: Address; stakeInfo: V06StakeInfo },
): RawValidationResult {
  // The v0.6 EntryPoint has already intersected the account's and the paymaster's ranges and
  // signature results, and reads validUntil 0 as "max": pack them back as one validationData.
  const until = BigInt(r.validUntil) === U48_MAX ? 0n : BigInt(r.validUntil)
  const authorizer = aggregator ? BigInt(aggregator.aggregator) : r.sigFailed ? 1n : 0n
  return {
    returnInfo: {
      preOpGas: r.preOpGas,
      prefund: r.prefund,
      accountValidationData: authorizer | (until << 160n) | (BigInt(r.validAfter) << 208n),
      // One sigFailed for both: with a paymaster it may be the paymaster's, so both are reported.
      paymasterValidationData: r.sigFailed && op.paymaster ? 1n : 0n,
      paymasterContext: r.paymasterContext,
    },
    senderInfo: sender,
    factoryInfo: factory,
    paymasterInfo: paymaster,
    aggregatorInfo: aggregator ?? { aggregator: zeroAddress, stakeInfo: { stake: 0n, unstakeDelaySec: 0n } },
  }
}

function decodeError(abi: Abi, data: Hex): { errorName: string; args: readonly unknown[] } | undefined {
  try {
    const e = decodeErrorResult({ abi, data })
    return { errorName: e.errorName, args: e.args ?? [] }
  } catch {
    return undefined
  }
}

/**
 * v0.6 simulates on chain: the EntryPoint's own simulateValidation and simulateHandleOp always
 * revert, with ValidationResult(WithAggregation) / ExecutionResult on success and FailedOp (or
 * anything else) on failure. No code override is needed; for the gas probe a proxy providing
 * delegateAndRevert is placed in front of the EntryPoint's code (contracts/src/EntryPointV06Proxy.sol).
 */
export function v06Simulation(entryPoint: Address): SimulationSurface {
  const abi = entryPointAbi('v0.6')
  return {
    stateOverride: {},
    validation: (op) =>
      encodeFunctionData({ abi, functionName: 'simulateValidation', args: [toV06Struct(op)] }),
    decodeValidation: (outcome, op) => {
      // simulateValidation never returns: a call that did is no validation.
      if (outcome.ok) return { ok: false, revert: '0x' }
      const e = decodeError(abi, outcome.revert)
      if (e?.errorName === 'ValidationResult') {
        const [r, sender, factory, paymaster] = e.args as [
          V06ReturnInfo,
          V06StakeInfo,
          V06StakeInfo,
          V06StakeInfo,
        ]
        return { ok: true, result: toRawValidationResult(op, r, sender, factory, paymaster) }
      }
      if (e?.errorName === 'ValidationResultWithAggregation') {
        const [r, sender, factory, paymaster, agg] = e.args as [
          V06ReturnInfo,
          V06StakeInfo,
          V06StakeInfo,
          V06StakeInfo,
          { aggregator: Address; stakeInfo: V06StakeInfo },
        ]
        return { ok: true, result: toRawValidationResult(op, r, sender, factory, paymaster, agg) }
      }
      return outcome
    },
    handleOp: (op, target, targetCallData) =>
      encodeFunctionData({
        abi,
        functionName: 'simulateHandleOp',
        args: [toV06Struct(op), target, targetCallData],
      }),
    decodeHandleOp: (outcome) => {
      if (outcome.ok) return { ok: false, revert: '0x' }
      const e = decodeError(abi, outcome.revert)
      if (e?.errorName !== 'ExecutionResult') return outcome
      const [preOpGas, paid, , , targetSuccess, targetResult] = e.args as [
        bigint,
        bigint,
        number,
        number,
        boolean,
        Hex,
      ]
      return { ok: true, result: { preOpGas, paid, targetSuccess, targetResult } }
    },
    delegateAndRevert: async (target, data, at) => ({
      to: entryPoint,
      data: encodeFunctionData({
        abi: V06_PROXY_ABI,
        functionName: 'delegateAndRevert',
        args: [target, data],
      }),
      stateOverride: {
        [entryPoint]: { code: V06_PROXY_CODE },
        [V06_PROXY_IMPLEMENTATION]: { code: await at.reads.code(entryPoint, at.blockNumber) },
      },
    }),
    depositSlot,
    // v0.6 packs DepositInfo's deposit (uint112), staked and stake into the first word: the
    // override writes the deposit and clears the stake, which estimation never reads.
    depositValue: (amount) => {
      if (amount > U112_MAX) throw new RangeError('a v0.6 deposit must fit uint112')
      return numberToHex(amount, { size: 32 })
    },
    phaseSelectors: {
      createSender: toFunctionSelector('createSender(bytes)'),
      validateUserOp: toFunctionSelector(`validateUserOp(${V06_OP},bytes32,uint256)`),
      validatePaymasterUserOp: toFunctionSelector(`validatePaymasterUserOp(${V06_OP},bytes32,uint256)`),
    },
    // No IAccountExecute in v0.6: the account gets its callData.
    executionCallData: (op) => op.callData,
  }
}
