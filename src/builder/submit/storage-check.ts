import type { Address, BlockTag, Hex, PublicClient } from 'viem'
import { changedAccounts, type StorageRead, toKnownAccounts } from './known-accounts.js'
import type { ExpectedStorage } from './types.js'

/** Reads in flight at once: a bundle's validation can touch many slots. */
const CONCURRENCY = 16

/**
 * After "condition not met": which accounts' storage moved since validation read it. The ops of
 * those accounts are rejected; the rest go into the next bundle.
 */
export async function recheckStorage(
  client: PublicClient,
  expected: ExpectedStorage,
  blockTag: BlockTag = 'latest',
): Promise<Address[]> {
  const known = toKnownAccounts(expected)
  const reads: { account: Address; slot: Hex }[] = []
  for (const [account, slots] of Object.entries(known) as [Address, Record<Hex, Hex>][]) {
    for (const slot of Object.keys(slots) as Hex[]) reads.push({ account, slot })
  }
  const now: StorageRead = {}
  for (let i = 0; i < reads.length; i += CONCURRENCY) {
    await Promise.all(
      reads.slice(i, i + CONCURRENCY).map(async ({ account, slot }) => {
        const value = (await client.getStorageAt({ address: account, slot, blockTag })) ?? '0x0'
        now[account] = { ...(now[account] ?? {}), [slot]: value }
      }),
    )
  }
  return changedAccounts(expected, now)
}
