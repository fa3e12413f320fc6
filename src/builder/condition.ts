import type { Address, Hash, Hex, PublicClient } from 'viem'
import type { Pool } from '../pool/types.js'
import { errorMessage } from '../util/errors.js'
import type { Logger } from '../util/log.js'
import { type Bundle, bundleOps } from './bundle.js'
import { changedAccounts, type StorageRead, toKnownAccounts } from './submit/known-accounts.js'

/** Storage reads in flight at once: a bundle's validation can touch many slots. */
const CONCURRENCY = 16

export interface ConditionDeps {
  client: PublicClient
  pool: Pick<Pool, 'removeOps'>
  logger: Logger
}

/**
 * A conditional submission answered "condition not met": storage the ops' validation read has
 * changed since. Re-read those slots; every op whose own validation read a slot that moved is
 * rejected (it leaves the pool, its simulation no longer holds). Ops whose reads still hold stay
 * pooled. Returns the rejected op hashes (the machine rebuilds at once when there are any). A
 * failed re-read rejects nothing: the ops stay and the next trigger rebuilds.
 */
export async function rejectChangedOps(deps: ConditionDeps, bundle: Bundle): Promise<Hash[]> {
  const log = deps.logger
  let now: StorageRead
  try {
    now = await readSlots(deps.client, bundle.expectedStorage)
  } catch (err) {
    log.warn({ err: errorMessage(err) }, 'condition not met: re-reading the storage failed; ops stay pooled')
    return []
  }
  const changed = bundleOps(bundle).filter(
    (c) => changedAccounts(c.validation.accessedStorage, now).length > 0,
  )
  if (changed.length === 0) {
    log.info(
      { entryPoint: bundle.entryPoint },
      'condition not met but no op’s storage moved; ops stay pooled',
    )
    return []
  }
  const hashes = changed.map((c) => c.hash)
  for (const c of changed) {
    log.info(
      {
        userOpHash: c.hash,
        sender: c.op.sender,
        accounts: changedAccounts(c.validation.accessedStorage, now),
      },
      'op rejected: storage its validation read changed before inclusion',
    )
  }
  try {
    await deps.pool.removeOps(bundle.entryPoint, hashes)
  } catch (err) {
    log.warn({ err: errorMessage(err) }, 'removing ops after condition not met failed')
    return []
  }
  return hashes
}

/** The current value of every slot in `expected`, at the latest block, as 32-byte words. */
async function readSlots(client: PublicClient, expected: Bundle['expectedStorage']): Promise<StorageRead> {
  const reads: { account: Address; slot: Hex }[] = []
  for (const [account, slots] of Object.entries(toKnownAccounts(expected)) as [Address, Record<Hex, Hex>][]) {
    for (const slot of Object.keys(slots) as Hex[]) reads.push({ account, slot })
  }
  const now: StorageRead = {}
  for (let i = 0; i < reads.length; i += CONCURRENCY) {
    await Promise.all(
      reads.slice(i, i + CONCURRENCY).map(async ({ account, slot }) => {
        const value = (await client.getStorageAt({ address: account, slot, blockTag: 'latest' })) ?? '0x0'
        now[account] = { ...(now[account] ?? {}), [slot]: value }
      }),
    )
  }
  return now
}
