import { type Address, encodeAbiParameters, type Hex, keccak256, numberToHex } from 'viem'
import type { EntryPointVersion } from '../chain/entrypoint.js'
import { GAS_PROBE_ADDRESS, GAS_PROBE_CODE } from './gas-probe.js'
import { withSimulationCode } from './sim-call.js'
import type { StateOverrideSet } from './types.js'

/**
 * The EntryPoint's `deposits` mapping (StakeManager, the first state variable in both v0.7 and
 * v0.8) sits at slot 0; a DepositInfo's first word is `deposit`. test/estimate.test.ts checks this
 * against balanceOf on the real EntryPoints.
 */
export function depositSlot(account: Address): Hex {
  return keccak256(encodeAbiParameters([{ type: 'address' }, { type: 'uint256' }], [account, 0n]))
}

/** A paymaster deposit no estimation prefund can exhaust. */
export const ESTIMATION_PAYMASTER_DEPOSIT = 1n << 100n

export interface EstimationOverrideParams {
  version: EntryPointVersion
  entryPoint: Address
  sender: Address
  paymaster?: Address
  /** The sender's real balance plus the largest prefund the search may ask (no paymaster). */
  senderBalance?: bigint
  user?: StateOverrideSet
}

/**
 * State overrides for estimation, on top of the caller's own:
 * - EntryPointSimulations' code at the EntryPoint, the gas probe's code at its address;
 * - without a paymaster, the sender's EntryPoint deposit is zeroed and its balance raised: the
 *   account then always takes the pay-prefund path, the most expensive one, whatever deposit it
 *   holds now, and can afford the prefund at the search's upper limits;
 * - with a paymaster, its deposit is raised so the prefund at those limits never fails (AA31).
 * The caller's overrides win, except for the code at the EntryPoint.
 */
export function estimationOverrides(p: EstimationOverrideParams): StateOverrideSet {
  const user = p.user ?? {}
  const slots: Record<Hex, Hex> = p.paymaster
    ? { [depositSlot(p.paymaster)]: numberToHex(ESTIMATION_PAYMASTER_DEPOSIT, { size: 32 }) }
    : { [depositSlot(p.sender)]: numberToHex(0n, { size: 32 }) }
  const out = withSimulationCode(p.version, p.entryPoint, user)
  const ep = out[p.entryPoint]!
  if (ep.state) ep.state = { ...slots, ...ep.state }
  else ep.stateDiff = { ...slots, ...ep.stateDiff }
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
