import { type Hash, type Hex, keccak256 } from 'viem'

/** Distinct codes remembered; a simulation touches a handful, mostly the same ones. */
const MAX_CODES = 2048
const hashes = new Map<string, Hash>()

/**
 * keccak256 of contract code, remembered: every validation hashes the code of each contract it
 * touched (the account's implementation, the factory, the paymaster), the same few kilobytes op
 * after op, which costs more than the rest of the trace's parsing.
 */
export function codeHash(code: Hex): Hash {
  let h = hashes.get(code)
  if (h === undefined) {
    if (hashes.size >= MAX_CODES) hashes.clear()
    h = keccak256(code)
    hashes.set(code, h)
  }
  return h
}
