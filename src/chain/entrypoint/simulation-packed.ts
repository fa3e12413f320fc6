import {
  type Address,
  decodeFunctionResult,
  encodeAbiParameters,
  encodeFunctionData,
  type Hex,
  keccak256,
  numberToHex,
  slice,
  toFunctionSelector,
} from 'viem'
import { type EntryPointVersion, entryPointArtifact } from '../entrypoint.js'
import { packUserOp, type UserOperation } from '../userop.js'
import { userOpHash } from './hash.js'
import type { RawExecutionResult, RawValidationResult, SimulationSurface } from './types.js'

const PACKED_OP = '(address,uint256,bytes,bytes,bytes32,uint256,bytes32,bytes,bytes)'

/** The EntryPoint calls that open a validation phase; the same signatures in v0.7, v0.8 and v0.9. */
export const PACKED_PHASE_SELECTORS = {
  createSender: toFunctionSelector('createSender(bytes)'),
  validateUserOp: toFunctionSelector(`validateUserOp(${PACKED_OP},bytes32,uint256)`),
  validatePaymasterUserOp: toFunctionSelector(`validatePaymasterUserOp(${PACKED_OP},bytes32,uint256)`),
} as const

const EXECUTE_USER_OP = toFunctionSelector(`executeUserOp(${PACKED_OP},bytes32)`)

/**
 * The StakeManager's `deposits` mapping is the EntryPoint's first state variable (slot 0) in every
 * version; a DepositInfo's first word holds `deposit` (test/estimate.test.ts checks it with balanceOf).
 */
export function depositSlot(account: Address): Hex {
  return keccak256(encodeAbiParameters([{ type: 'address' }, { type: 'uint256' }], [account, 0n]))
}

/**
 * v0.7+ have no simulation methods on chain: EntryPointSimulations' code is placed at the
 * EntryPoint's address by state override, so the simulation sees the real EntryPoint's storage
 * (deposits, nonces, stakes), and its simulateValidation / simulateHandleOp return their results.
 */
export function packedSimulation(version: EntryPointVersion, entryPoint: Address): SimulationSurface {
  const simulations = entryPointArtifact(version, 'EntryPointSimulations')
  const abi = simulations.abi
  return {
    stateOverride: { [entryPoint]: { code: simulations.deployedBytecode } },
    validation: (op) =>
      encodeFunctionData({ abi, functionName: 'simulateValidation', args: [packUserOp(op)] }),
    decodeValidation: (outcome) =>
      outcome.ok
        ? {
            ok: true,
            result: decodeFunctionResult({
              abi,
              functionName: 'simulateValidation',
              data: outcome.data,
            }) as unknown as RawValidationResult,
          }
        : outcome,
    handleOp: (op, target, targetCallData) =>
      encodeFunctionData({
        abi,
        functionName: 'simulateHandleOp',
        args: [packUserOp(op), target, targetCallData],
      }),
    decodeHandleOp: (outcome) =>
      outcome.ok
        ? {
            ok: true,
            result: decodeFunctionResult({
              abi,
              functionName: 'simulateHandleOp',
              data: outcome.data,
            }) as unknown as RawExecutionResult,
          }
        : outcome,
    // The EntryPoint itself has delegateAndRevert: nothing more to place.
    delegateAndRevert: async (target, data) => ({
      to: entryPoint,
      data: encodeFunctionData({ abi, functionName: 'delegateAndRevert', args: [target, data] }),
      stateOverride: {},
    }),
    depositSlot,
    depositValue: (amount) => numberToHex(amount, { size: 32 }),
    phaseSelectors: PACKED_PHASE_SELECTORS,
    // IAccountExecute accounts get executeUserOp(op, userOpHash) instead of their callData.
    executionCallData: (op: UserOperation, chainId: number) => {
      if (op.callData.length < 10 || slice(op.callData, 0, 4) !== EXECUTE_USER_OP) return op.callData
      return encodeFunctionData({
        abi: entryPointArtifact(version, 'IAccountExecute').abi,
        functionName: 'executeUserOp',
        args: [packUserOp(op), userOpHash(op, entryPoint, chainId, version)],
      })
    },
  }
}
