import {
  type Address,
  decodeFunctionResult,
  encodeFunctionData,
  type Hex,
  numberToHex,
  type PublicClient,
} from 'viem'
import { type EntryPointVersion, entryPointArtifact } from '../chain/entrypoint.js'
import { extractRevertData } from '../chain/revert.js'
import { packUserOp, type UserOperation } from '../chain/userop.js'
import type { StateOverrideSet } from './types.js'

/**
 * v0.7+ EntryPoints have no simulation methods on chain: the bundler eth_calls
 * EntryPointSimulations' code placed at the EntryPoint's address by a state override, so the
 * simulation sees the real EntryPoint's storage (deposits, nonces, stakes).
 */

/** A simulation call as sent: the same triple a tracer (debug_traceCall) must use. */
export interface SimulationCall {
  entryPoint: Address
  version: EntryPointVersion
  data: Hex
  blockNumber: bigint
  stateOverride: StateOverrideSet
  /** Sender and gas, when the caller wants them explicit (the node's defaults otherwise). */
  from?: Address
  gas?: bigint
}

export type CallOutcome = { ok: true; data: Hex } | { ok: false; revert: Hex }

export function simulationsAbi(version: EntryPointVersion) {
  return entryPointArtifact(version, 'EntryPointSimulations').abi
}

/** The user's overrides with EntryPointSimulations' code at the EntryPoint (their state kept). */
export function withSimulationCode(
  version: EntryPointVersion,
  entryPoint: Address,
  user: StateOverrideSet = {},
): StateOverrideSet {
  const out: StateOverrideSet = { ...user }
  const key = (Object.keys(user) as Address[]).find((a) => a.toLowerCase() === entryPoint.toLowerCase())
  const existing = key ? user[key] : undefined
  if (key) delete out[key]
  out[entryPoint] = {
    ...existing,
    code: entryPointArtifact(version, 'EntryPointSimulations').deployedBytecode,
  }
  return out
}

export function encodeSimulateValidation(version: EntryPointVersion, op: UserOperation): Hex {
  return encodeFunctionData({
    abi: simulationsAbi(version),
    functionName: 'simulateValidation',
    args: [packUserOp(op)],
  })
}

export function encodeSimulateHandleOp(
  version: EntryPointVersion,
  op: UserOperation,
  target: Address,
  targetCallData: Hex,
): Hex {
  return encodeFunctionData({
    abi: simulationsAbi(version),
    functionName: 'simulateHandleOp',
    args: [packUserOp(op), target, targetCallData],
  })
}

/** The raw ValidationResult struct of EntryPointSimulations.simulateValidation. */
export interface RawValidationResult {
  returnInfo: {
    preOpGas: bigint
    prefund: bigint
    accountValidationData: bigint
    paymasterValidationData: bigint
    paymasterContext: Hex
  }
  senderInfo: RawStakeInfo
  factoryInfo: RawStakeInfo
  paymasterInfo: RawStakeInfo
  aggregatorInfo: { aggregator: Address; stakeInfo: RawStakeInfo }
}
export interface RawStakeInfo {
  stake: bigint
  unstakeDelaySec: bigint
}

export function decodeSimulateValidation(version: EntryPointVersion, data: Hex): RawValidationResult {
  return decodeFunctionResult({
    abi: simulationsAbi(version),
    functionName: 'simulateValidation',
    data,
  }) as unknown as RawValidationResult
}

export interface RawExecutionResult {
  preOpGas: bigint
  paid: bigint
  accountValidationData: bigint
  paymasterValidationData: bigint
  targetSuccess: boolean
  targetResult: Hex
}

export function decodeSimulateHandleOp(version: EntryPointVersion, data: Hex): RawExecutionResult {
  return decodeFunctionResult({
    abi: simulationsAbi(version),
    functionName: 'simulateHandleOp',
    data,
  }) as unknown as RawExecutionResult
}

/** The transaction object of a simulation call, as eth_call and debug_traceCall take it. */
export function callObject(call: SimulationCall): { from?: Address; to: Address; data: Hex; gas?: Hex } {
  return {
    ...(call.from ? { from: call.from } : {}),
    to: call.entryPoint,
    data: call.data,
    ...(call.gas !== undefined ? { gas: numberToHex(call.gas) } : {}),
  }
}

/**
 * eth_call from no one to the EntryPoint with the override set, at a pinned block. A revert comes
 * back as data (the caller decodes it); transport and node failures are thrown.
 */
export async function callSimulation(client: PublicClient, call: SimulationCall): Promise<CallOutcome> {
  try {
    const data = (await client.request({
      method: 'eth_call',
      params: [callObject(call), numberToHex(call.blockNumber), call.stateOverride as never],
    } as never)) as Hex
    return { ok: true, data }
  } catch (err) {
    const revert = extractRevertData(err)
    if (revert === undefined) throw err
    return { ok: false, revert }
  }
}
