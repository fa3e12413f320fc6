import type { Address, PublicClient } from 'viem'
import { isEip7702Op, withChainDelegate } from '../chain/eip7702.js'
import type { EntryPointModule } from '../chain/entrypoint/types.js'
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
    throw secondAuthorization(c.op.op.sender, e.op.hash)
  }
}

/** The refusal of a second op with an authorization from one sender (both pools). */
export function secondAuthorization(sender: Address, pooled: string): RpcError {
  return new RpcError(
    RpcCode.InvalidParams,
    `eip7702Auth: sender ${sender} already has an op with an authorization in the mempool (${pooled})`,
    { field: 'eip7702Auth', pooled },
  )
}

/** Why an op's authorization can no longer apply, given its authority's nonce now; undefined while it can. */
export function consumedAuthorizationReason(op: UserOperation, authorityNonce: bigint): string | undefined {
  const auth = op.eip7702Auth
  if (!auth || auth.nonce >= authorityNonce) return undefined
  return `eip7702Auth: nonce ${auth.nonce} of ${op.sender} was consumed on chain (account nonce is now ${authorityNonce})`
}

/** A 7702 op without an authorization (its sender already delegated) is hashed with the delegate on chain. */
export async function withPooledDelegate(
  client: PublicClient,
  module: EntryPointModule,
  op: UserOperation,
): Promise<UserOperation> {
  if (!module.eip7702 || !isEip7702Op(op) || op.eip7702Auth) return op
  return withChainDelegate(op, (await client.getCode({ address: op.sender })) ?? '0x')
}
