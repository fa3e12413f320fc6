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
import { delegationOverride } from '../chain/eip7702.js'
import type { EntryPointModule } from '../chain/entrypoint/types.js'
import { extractRevertData } from '../chain/revert.js'
import type { UserOperation } from '../chain/userop.js'
import { type CallOutcome, callSimulation } from './sim-call.js'
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
  ep: EntryPointModule
  ops: readonly UserOperation[]
  blockNumber: bigint
  /** Gas of each eth_call: large (e.g. the block's gas limit); the contract stops when it runs short. */
  gas: bigint
}

/**
 * simulateValidation of every op at one block in as few eth_calls as gas allows (one, usually),
 * each op isolated from the others' state changes (see contracts/src/SimulationBatch.sol). The
 * outcomes are what callSimulation would give for each op alone (the EntryPoint's module decodes
 * them: v0.6's simulateValidation reverts with its result). Node failures are thrown.
 */
export async function simulateBatch(client: PublicClient, sim: BatchSimulation): Promise<CallOutcome[]> {
  const stateOverride = batchOverride(sim.ep, sim.ops)
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
        entryPoint: sim.ep.address,
        data: sim.ep.simulation.validation(op),
        blockNumber: sim.blockNumber,
        stateOverride: { ...delegationOverride(op), ...sim.ep.simulation.stateOverride },
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
  return fetchPrestate(client, {
    entryPoint: SIMULATION_BATCH_ADDRESS,
    version: sim.ep.version,
    data: batchCalldata(sim, sim.ops),
    blockNumber: sim.blockNumber,
    stateOverride: batchOverride(sim.ep, sim.ops),
    gas: sim.gas,
  })
}

/** What the EntryPoint's simulation needs placed, the batch contract's code, and the ops' delegations. */
function batchOverride(ep: EntryPointModule, ops: readonly UserOperation[]): StateOverrideSet {
  const delegations = Object.assign({}, ...ops.map(delegationOverride)) as StateOverrideSet
  return {
    ...delegations,
    ...ep.simulation.stateOverride,
    [SIMULATION_BATCH_ADDRESS]: { code: SIMULATION_BATCH_CODE },
  }
}

function batchCalldata(sim: BatchSimulation, ops: readonly UserOperation[]): Hex {
  const { ep } = sim
  return encodeFunctionData({
    abi: SIMULATION_BATCH_ABI,
    functionName: 'simulateCalls',
    args: [ep.address, ops.map(ep.simulation.validation), ops.map(ep.gas.validationGasBound)],
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
    functionName: 'simulateCalls',
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
