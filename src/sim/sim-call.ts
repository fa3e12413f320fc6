import { type Address, type Hex, numberToHex, type PublicClient } from 'viem'
import { entryPointOfVersion } from '../chain/entrypoint/registry.js'
import type { CallOutcome, SimulationSurface, StateOverrideSet } from '../chain/entrypoint/types.js'
import type { EntryPointVersion } from '../chain/entrypoint.js'
import { entryPointArtifact } from '../chain/entrypoint.js'
import { extractRevertData } from '../chain/revert.js'
import type { UserOperation } from '../chain/userop.js'

export type {
  CallOutcome,
  RawExecutionResult,
  RawStakeInfo,
  RawValidationResult,
} from '../chain/entrypoint/types.js'

/**
 * A simulation call as sent: the same triple a tracer (debug_traceCall) must use. What the call
 * is — calldata, overrides, how its outcome decodes — comes from the EntryPoint's module
 * (chain/entrypoint/): v0.6 calls the EntryPoint's own simulateValidation, v0.7+ call
 * EntryPointSimulations' code placed at the EntryPoint by state override.
 */
export interface SimulationCall {
  entryPoint: Address
  version: EntryPointVersion
  data: Hex
  blockNumber: bigint
  stateOverride: StateOverrideSet
  /** The op simulated (the Simulator always sets it; a tracer reads its entities from it). */
  op?: UserOperation
  /** The EntryPoint calls that open a validation phase, for a tracer (default: v0.7+'s). */
  phaseSelectors?: SimulationSurface['phaseSelectors']
  /** Sender and gas, when the caller wants them explicit (the node's defaults otherwise). */
  from?: Address
  gas?: bigint
}

/**
 * The user's overrides with `forced` on top: for an address in both, the forced fields (the code
 * placed at the EntryPoint) replace the user's, and the user's other fields (its state) are kept.
 */
export function mergeOverrides(user: StateOverrideSet, forced: StateOverrideSet): StateOverrideSet {
  const out: StateOverrideSet = { ...user }
  for (const [address, fields] of Object.entries(forced) as [Address, StateOverrideSet[Address]][]) {
    const key = (Object.keys(out) as Address[]).find((a) => a.toLowerCase() === address.toLowerCase())
    const existing = key ? out[key] : undefined
    if (key) delete out[key]
    out[address] = { ...existing, ...fields }
  }
  return out
}

/** v0.7+: the EntryPointSimulations ABI of the version. */
export function simulationsAbi(version: EntryPointVersion) {
  return entryPointArtifact(version, 'EntryPointSimulations').abi
}

/** The user's overrides with whatever the version's simulation needs at the EntryPoint (v0.7+: its code). */
export function withSimulationCode(
  version: EntryPointVersion,
  entryPoint: Address,
  user: StateOverrideSet = {},
): StateOverrideSet {
  const base = entryPointOfVersion(version).simulation.stateOverride
  const forced: StateOverrideSet = {}
  for (const fields of Object.values(base)) forced[entryPoint] = fields
  return mergeOverrides(user, forced)
}

/** simulateValidation calldata of the version. */
export function encodeSimulateValidation(version: EntryPointVersion, op: UserOperation): Hex {
  return entryPointOfVersion(version).simulation.validation(op)
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
export async function callSimulation(
  client: PublicClient,
  call: Omit<SimulationCall, 'version'> & Partial<Pick<SimulationCall, 'version'>>,
): Promise<CallOutcome> {
  try {
    const data = (await client.request({
      method: 'eth_call',
      params: [
        callObject(call as SimulationCall),
        numberToHex(call.blockNumber),
        call.stateOverride as never,
      ],
    } as never)) as Hex
    return { ok: true, data }
  } catch (err) {
    const revert = extractRevertData(err)
    if (revert === undefined) throw err
    return { ok: false, revert }
  }
}
