import type { Address } from 'viem'
import type { UserOperation } from '../chain/userop.js'
import { RpcCode, RpcError } from '../util/errors.js'
import type { PoolEntry } from './entry.js'
import type { Mempool } from './mempool.js'

/**
 * The pool's EIP-7702 rules: one op with an authorization per sender, ops of a delegated sender
 * need none, and an op whose authorization nonce the authority has used is dropped.
 */

/** At most one pooled op with an authorization per sender (a replacement of it excepted). */
export function checkOneAuthorizationPerSender(c: PoolEntry, pool: Mempool, replaces?: PoolEntry): void {
  if (!c.op.op.eip7702Auth) return
  for (const e of pool.opsInvolving(c.senderKey)) {
    if (e === replaces || e.senderKey !== c.senderKey || !e.op.op.eip7702Auth) continue
    throw new RpcError(
      RpcCode.InvalidParams,
      `eip7702Auth: sender ${c.op.op.sender} already has an op with an authorization in the mempool (${e.op.hash})`,
      { field: 'eip7702Auth', pooled: e.op.hash },
    )
  }
}

/** Why an op's authorization can no longer apply, given its authority's nonce now; undefined while it can. */
export function consumedAuthorizationReason(op: UserOperation, authorityNonce: bigint): string | undefined {
  const auth = op.eip7702Auth
  if (!auth || auth.nonce >= authorityNonce) return undefined
  return `eip7702Auth: nonce ${auth.nonce} of ${op.sender} was consumed on chain (account nonce is now ${authorityNonce})`
}

/** The pooled ops carrying an authorization, by authority. */
export function authorizedEntries(pool: Mempool): Map<Address, PoolEntry[]> {
  const out = new Map<Address, PoolEntry[]>()
  for (const e of pool.entries()) {
    if (!e.op.op.eip7702Auth) continue
    const list = out.get(e.op.op.sender) ?? []
    list.push(e)
    out.set(e.op.op.sender, list)
  }
  return out
}
