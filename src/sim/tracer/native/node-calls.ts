import { type Address, type Hex, numberToHex, type PublicClient } from 'viem'
import { type CallOutcome, callObject, type SimulationCall } from '../../sim-call.js'
import type { Prestate } from './replay-state.js'

/** The zero address sends every simulation (as eth_call without `from` does on geth and anvil). */
export const SIMULATION_SENDER: Address = '0x0000000000000000000000000000000000000000'

/** debug_traceCall with the native `prestateTracer`: the state the call read, one node call. */
export async function fetchPrestate(client: PublicClient, call: SimulationCall): Promise<Prestate> {
  return (await client.request({
    method: 'debug_traceCall',
    params: [
      callObject(call),
      numberToHex(call.blockNumber),
      { tracer: 'prestateTracer', stateOverrides: call.stateOverride },
    ],
  } as never)) as Prestate
}

export function sameOutcome(a: CallOutcome, b: CallOutcome): boolean {
  if (a.ok !== b.ok) return false
  return outcomeData(a).toLowerCase() === outcomeData(b).toLowerCase()
}

function outcomeData(o: CallOutcome): Hex {
  return o.ok ? o.data : o.revert
}
