import type { PublicClient, SignedAuthorization } from 'viem'
import { authorizationsOf, type Eip7702Auth } from '../chain/eip7702.js'
import { consumedAuthorizationReason } from '../pool/eip7702-rules.js'
import type { PoolOp } from '../pool/types.js'
import type { ProposalRecorder } from './proposal-report.js'

/**
 * EIP-7702 authorizations re-checked as the bundle is assembled: an authorization applies only at
 * its authority's next nonce. One whose nonce the authority used leaves the bundle and the pool
 * (no entity is blamed: the EOA moved on); one that waits for the authority's own pending
 * transaction, or that such a transaction is about to consume, is skipped for this bundle (the
 * pool drops it once that transaction is mined). Ops without an authorization pass untouched.
 */
export async function recheckAuthorizations(
  client: PublicClient,
  ops: PoolOp[],
  blockNumber: bigint,
  recorder: ProposalRecorder,
): Promise<PoolOp[]> {
  const verdicts = await Promise.all(
    ops.map(async (c) => {
      const auth = c.op.eip7702Auth
      if (!auth) return 'keep' as const
      const [nonce, pending] = await Promise.all([
        client.getTransactionCount({ address: c.op.sender, blockNumber }),
        client.getTransactionCount({ address: c.op.sender, blockTag: 'pending' }),
      ])
      const reason = consumedAuthorizationReason(c.op, BigInt(nonce))
      if (reason) return { reason }
      return auth.nonce === BigInt(nonce) && BigInt(pending) <= auth.nonce
        ? ('keep' as const)
        : ('wait' as const)
    }),
  )
  const kept: PoolOp[] = []
  for (const [i, c] of ops.entries()) {
    const v = verdicts[i]
    if (v === 'keep') kept.push(c)
    else if (v === 'wait') recorder.skip([{ hash: c.hash, reason: 'authorization_pending' }])
    else if (v) recorder.reject(c, v.reason, false)
  }
  return kept
}

/** The authorization as a type-4 transaction's authorization list carries it. */
export function toSignedAuthorization(a: Eip7702Auth): SignedAuthorization {
  return {
    address: a.address,
    chainId: Number(a.chainId),
    nonce: Number(a.nonce),
    r: a.r,
    s: a.s,
    yParity: a.yParity,
  }
}

/** `{ authorizationList }` of the ops that carry one; nothing when none does (a type-2 bundle). */
export function authorizationList(ops: readonly PoolOp[]): { authorizationList?: SignedAuthorization[] } {
  const list = authorizationsOf(ops.map((c) => c.op)).map(toSignedAuthorization)
  return list.length > 0 ? { authorizationList: list } : {}
}
