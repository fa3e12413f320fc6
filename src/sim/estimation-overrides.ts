import { type Address, type Hex, numberToHex } from 'viem'
import { depositSlot } from '../chain/entrypoint/simulation-packed.js'
import type { SimulationSurface } from '../chain/entrypoint/types.js'
import { GAS_PROBE_ADDRESS, GAS_PROBE_CODE } from './gas-probe.js'
import { mergeOverrides } from './sim-call.js'
import type { StateOverrideSet } from './types.js'

/** The EntryPoint's `deposits(account)` slot (slot 0 mapping in every version). */
export { depositSlot }

/** A paymaster deposit no estimation prefund can exhaust (and that fits v0.6's uint112). */
export const ESTIMATION_PAYMASTER_DEPOSIT = 1n << 100n

export interface EstimationOverrideParams {
  /** The simulation of the op's EntryPoint (its code override and deposit layout). */
  simulation: Pick<SimulationSurface, 'stateOverride' | 'depositSlot' | 'depositValue'>
  entryPoint: Address
  sender: Address
  paymaster?: Address
  /** The sender's real balance plus the largest prefund the search may ask (no paymaster). */
  senderBalance?: bigint
  user?: StateOverrideSet
}

/**
 * State overrides for estimation, on top of the caller's own:
 * - what the version's simulation needs at the EntryPoint (v0.7+: EntryPointSimulations' code), the
 *   gas probe's code at its address;
 * - without a paymaster, the sender's EntryPoint deposit is zeroed and its balance raised: the
 *   account then always takes the pay-prefund path, the most expensive one, whatever deposit it
 *   holds now, and can afford the prefund at the search's upper limits;
 * - with a paymaster, its deposit is raised so the prefund at those limits never fails (AA31).
 * The caller's overrides win, except for the code placed at the EntryPoint.
 */
export function estimationOverrides(p: EstimationOverrideParams): StateOverrideSet {
  const user = p.user ?? {}
  const { simulation } = p
  const slots: Record<Hex, Hex> = p.paymaster
    ? { [simulation.depositSlot(p.paymaster)]: simulation.depositValue(ESTIMATION_PAYMASTER_DEPOSIT) }
    : { [simulation.depositSlot(p.sender)]: simulation.depositValue(0n) }
  const forced: StateOverrideSet = {}
  for (const fields of Object.values(simulation.stateOverride)) forced[p.entryPoint] = fields
  const out = mergeOverrides(user, forced)
  const key = findKey(out, p.entryPoint)
  const ep = key ? out[key]! : {}
  if (key) delete out[key]
  if (ep.state) ep.state = { ...slots, ...ep.state }
  else ep.stateDiff = { ...slots, ...ep.stateDiff }
  out[p.entryPoint] = ep
  if (!p.paymaster && p.senderBalance !== undefined) {
    const key = findKey(out, p.sender)
    const existing = key ? out[key] : undefined
    if (existing?.balance === undefined) {
      if (key) delete out[key]
      out[p.sender] = { ...existing, balance: numberToHex(p.senderBalance) }
    }
  }
  out[GAS_PROBE_ADDRESS] = { code: GAS_PROBE_CODE }
  return out
}

function findKey(set: StateOverrideSet, address: Address): Address | undefined {
  return (Object.keys(set) as Address[]).find((a) => a.toLowerCase() === address.toLowerCase())
}
