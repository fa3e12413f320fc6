import { type Address, getAddress, type Hex, pad } from 'viem'
import type { ExpectedStorage } from './types.js'

/** `knownAccounts` of eth_sendRawTransactionConditional: account → slot → 32-byte value. */
export type KnownAccounts = Record<Address, Record<Hex, Hex>>

/** Slots and values as the 32-byte words the node compares; addresses checksummed. */
export function toKnownAccounts(expected: ExpectedStorage | undefined): KnownAccounts {
  const out: KnownAccounts = {}
  for (const [account, slots] of Object.entries(expected ?? {})) {
    const words: Record<Hex, Hex> = {}
    for (const [slot, value] of Object.entries(slots)) words[word(slot as Hex)] = word(value)
    out[getAddress(account)] = words
  }
  return out
}

export function word(v: Hex): Hex {
  return pad(v.toLowerCase() as Hex, { size: 32 })
}

/** A read of the same slots, in the same shape, at some later block. */
export type StorageRead = KnownAccounts

/** Accounts with at least one slot whose value is no longer what validation read. */
export function changedAccounts(expected: ExpectedStorage, now: StorageRead): Address[] {
  const known = toKnownAccounts(expected)
  const current = toKnownAccounts(now)
  const changed: Address[] = []
  for (const [account, slots] of Object.entries(known) as [Address, Record<Hex, Hex>][]) {
    const read = current[account] ?? {}
    if (Object.entries(slots).some(([slot, value]) => read[slot as Hex] !== value)) changed.push(account)
  }
  return changed
}

/** Number of slots, to bound how much a re-check reads. */
export function slotCount(expected: ExpectedStorage): number {
  return Object.values(expected).reduce((n, slots) => n + Object.keys(slots).length, 0)
}
