import { type Address, type Hex, hexToBigInt, keccak256 } from 'viem'

/** ERC-7562: slot keccak(A ‖ x) + n for n in 0..128 is associated with A. */
export const ASSOCIATED_OFFSET_MAX = 128n

/** A hashed preimage that starts with an address: its hash is a base of A's associated slots. */
export interface AssociationBase {
  address: string
  base: bigint
}

/**
 * The association bases from KECCAK256 inputs: an input whose first word is a left-padded address
 * (Solidity's mapping key) or whose first 20 bytes are one (abi.encodePacked).
 */
export function associationBases(keccakInputs: readonly Hex[]): AssociationBase[] {
  const out: AssociationBase[] = []
  for (const input of keccakInputs) {
    const body = input.slice(2).toLowerCase()
    if (body.length < 40) continue
    const base = hexToBigInt(keccak256(input))
    if (body.length >= 64 && body.startsWith('000000000000000000000000'))
      out.push({ address: `0x${body.slice(24, 64)}`, base })
    out.push({ address: `0x${body.slice(0, 40)}`, base })
  }
  return out
}

/** Is `slot` associated with `address`: the slot equals the address, or keccak(address ‖ x) + n. */
export function isAssociated(slot: Hex, address: Address, bases: readonly AssociationBase[]): boolean {
  const s = hexToBigInt(slot)
  const a = address.toLowerCase()
  if (s === hexToBigInt(a as Hex)) return true
  for (const b of bases)
    if (b.address === a && s >= b.base && s - b.base <= ASSOCIATED_OFFSET_MAX) return true
  return false
}
