import type { Address, Hex } from 'viem'
import { same } from './context.js'

/** What the proposer knows of each op in a prospective bundle. */
export interface BundleCandidate {
  /** The op's hash (or any id the caller uses). */
  id: string
  sender: Address
  factory?: Address
  paymaster?: Address
  aggregator?: Address
  /** Storage validation read, per contract (ValidationResult.accessedStorage). */
  accessedStorage: Record<Address, Record<Hex, Hex>>
}

export interface StorageConflict {
  id: string
  rule: 'STO-040' | 'STO-041'
  /** The other op's sender this op's entity or storage access collides with. */
  address: Address
  message: string
}

/**
 * ERC-7562's bundle-level storage rules for the proposer: STO-040, no op may use as factory,
 * paymaster or aggregator an address that is another op's sender; STO-041, no op may touch
 * storage of a contract that is another op's sender (that op's validation may change it).
 * Returns every offending op; drop them (or split the bundle).
 */
export function bundleStorageConflicts(candidates: readonly BundleCandidate[]): StorageConflict[] {
  const out: StorageConflict[] = []
  for (const c of candidates) {
    const others = candidates.filter((o) => o.id !== c.id && !same(o.sender, c.sender))
    const senderOf = (a: string) => others.find((o) => same(o.sender, a))
    const roles: [string, Address | undefined][] = [
      ['factory', c.factory],
      ['paymaster', c.paymaster],
      ['aggregator', c.aggregator],
    ]
    let conflict: StorageConflict | undefined
    for (const [role, a] of roles) {
      const o = a && senderOf(a)
      if (o) {
        conflict = {
          id: c.id,
          rule: 'STO-040',
          address: o.sender,
          message: `STO-040: op ${c.id} uses ${role} ${a}, the sender of op ${o.id}`,
        }
        break
      }
    }
    if (!conflict)
      for (const a of Object.keys(c.accessedStorage)) {
        const o = senderOf(a)
        if (o) {
          conflict = {
            id: c.id,
            rule: 'STO-041',
            address: o.sender,
            message: `STO-041: op ${c.id} reads storage of ${a}, the sender of op ${o.id}`,
          }
          break
        }
      }
    if (conflict) out.push(conflict)
  }
  return out
}
