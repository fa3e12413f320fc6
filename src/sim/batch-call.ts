import {
  type Address,
  decodeErrorResult,
  decodeFunctionResult,
  encodeFunctionData,
  getAddress,
  type Hex,
  numberToHex,
  type PublicClient,
} from 'viem'
import type { EntryPointVersion } from '../chain/entrypoint.js'
import { extractRevertData } from '../chain/revert.js'
import { packUserOp, type UserOperation } from '../chain/userop.js'
import { type CallOutcome, callSimulation, encodeSimulateValidation, withSimulationCode } from './sim-call.js'
import { SIMULATION_BATCH_ABI, SIMULATION_BATCH_CODE } from './simulation-batch.js'
import { fetchPrestate } from './tracer/native/node-calls.js'
import type { Prestate } from './tracer/native/replay-state.js'
import type { StateOverrideSet } from './types.js'

/**
 * Where SimulationBatch's code is placed by state override for the call: an address with no code
 * or state on any chain ("c0ffee" and "ba7c4" for batch), far from the precompile range.
 */
export const SIMULATION_BATCH_ADDRESS: Address = getAddress('0x00000000000000000000000000c0ffee0ba7c401')

export interface BatchSimulation {
  entryPoint: Address
  version: EntryPointVersion
  ops: readonly UserOperation[]
  blockNumber: bigint
  /** Gas of each eth_call: large (e.g. the block's gas limit); the contract stops when it runs short. */
  gas: bigint
}

/**
 * simulateValidation of every op at one block in as few eth_calls as gas allows (one, usually),
 * each op isolated from the others' state changes (see contracts/src/SimulationBatch.sol). The
 * outcomes are what callSimulation would give for each op alone. Node failures are thrown.
 */
export async function simulateBatch(client: PublicClient, sim: BatchSimulation): Promise<CallOutcome[]> {
  const stateOverride: StateOverrideSet = {
    ...withSimulationCode(sim.version, sim.entryPoint),
    [SIMULATION_BATCH_ADDRESS]: { code: SIMULATION_BATCH_CODE },
  }
  const outcomes: CallOutcome[] = []
  while (outcomes.length < sim.ops.length) {
    const rest = sim.ops.slice(outcomes.length)
    const ran = await callBatch(client, sim, rest, stateOverride)
    if (ran.length > 0) {
      outcomes.push(...ran)
      continue
    }
    // Even the whole call's gas does not cover this op's worst case: simulate it alone, as before.
    const op = rest[0] as UserOperation
    outcomes.push(
      await callSimulation(client, {
        entryPoint: sim.entryPoint,
        version: sim.version,
        data: encodeSimulateValidation(sim.version, op),
        blockNumber: sim.blockNumber,
        stateOverride: withSimulationCode(sim.version, sim.entryPoint),
      }),
    )
  }
  return outcomes
}

/**
 * The state the batch call reads (the node's native prestateTracer over the very call simulateBatch
 * makes first): the block's state of every account and slot any of the ops' simulations read, each
 * op running from that state (the batch reverts each op's changes). Ops that did not fit the first
 * call's gas are not covered; a replay from it then disagrees with the node and asks on its own.
 */
export async function batchPrestate(client: PublicClient, sim: BatchSimulation): Promise<Prestate> {
  const stateOverride: StateOverrideSet = {
    ...withSimulationCode(sim.version, sim.entryPoint),
    [SIMULATION_BATCH_ADDRESS]: { code: SIMULATION_BATCH_CODE },
  }
  return fetchPrestate(client, {
    entryPoint: SIMULATION_BATCH_ADDRESS,
    version: sim.version,
    data: batchCalldata(sim, sim.ops),
    blockNumber: sim.blockNumber,
    stateOverride,
    gas: sim.gas,
  })
}

function batchCalldata(sim: BatchSimulation, ops: readonly UserOperation[]): Hex {
  return encodeFunctionData({
    abi: SIMULATION_BATCH_ABI,
    functionName: 'simulateValidations',
    args: [sim.entryPoint, ops.map(packUserOp)],
  })
}

async function callBatch(
  client: PublicClient,
  sim: BatchSimulation,
  ops: readonly UserOperation[],
  stateOverride: StateOverrideSet,
): Promise<CallOutcome[]> {
  const data = batchCalldata(sim, ops)
  let returned: Hex
  try {
    returned = (await client.request({
      method: 'eth_call',
      params: [
        { to: SIMULATION_BATCH_ADDRESS, data, gas: numberToHex(sim.gas) },
        numberToHex(sim.blockNumber),
        stateOverride as never,
      ],
    } as never)) as Hex
  } catch (err) {
    // The ops' reverts come back as results: a revert of the batch itself is the node's trouble.
    const revert = extractRevertData(err)
    if (revert === undefined) throw err
    throw new Error(`simulation batch reverted: ${describeBatchRevert(revert)}`, { cause: err })
  }
  const results = decodeFunctionResult({
    abi: SIMULATION_BATCH_ABI,
    functionName: 'simulateValidations',
    data: returned,
  })
  return results.map((r) => (r.ok ? { ok: true, data: r.data } : { ok: false, revert: r.data }))
}

function describeBatchRevert(revert: Hex): string {
  try {
    const e = decodeErrorResult({ abi: SIMULATION_BATCH_ABI, data: revert })
    return `${e.errorName}(${(e.args ?? []).map(String).join(', ')})`
  } catch {
    return revert
  }
}
