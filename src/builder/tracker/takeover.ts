import type { Address, Hash, Hex } from 'viem'
import { authorizationOfSender, type Eip7702Auth } from '../../chain/eip7702.js'
import { entryPointFor } from '../../chain/entrypoint/registry.js'
import type { Pool } from '../../pool/types.js'
import type { Logger } from '../../util/log.js'

export interface TakeoverDeps {
  chainId: number
  entryPoints: Address[]
  pool: Pick<Pool, 'addOp'>
  logger: Logger
}

/**
 * A bundle taken over from a previous run (found pending at our nonce) carries ops this run's pool
 * does not hold: they are admitted again, so that a replacement carries them instead of dropping
 * them, and a mine removes them. An op that no longer validates is refused by the pool as usual
 * (ops of a handleAggregatedOps bundle carry their aggregator's `sigForUserOp`, not the user's
 * signature, and are usually refused). Returns the EntryPoint and the hashes admitted.
 */
export async function readmitBundleOps(
  deps: TakeoverDeps,
  tx: { hash: Hash; to?: Address; input?: Hex; authorizationList?: Eip7702Auth[] },
): Promise<{ entryPoint?: Address; opHashes: Hash[] }> {
  const entryPoint = deps.entryPoints.find((e) => e.toLowerCase() === tx.to?.toLowerCase())
  const ep = entryPoint ? entryPointFor(entryPoint) : undefined
  const ops = ep && tx.input ? ep.decodeBundle(tx.input) : undefined
  if (!entryPoint || !ep || !ops) return { opHashes: [] }
  const opHashes: Hash[] = []
  for (const decoded of ops) {
    // A 7702 op gets its authorization back from the bundle's list (calldata does not carry it).
    const auth = await authorizationOfSender(decoded, tx.authorizationList ?? [])
    const op = auth ? { ...decoded, eip7702Auth: auth } : decoded
    try {
      opHashes.push(await deps.pool.addOp(entryPoint, op))
    } catch (err) {
      deps.logger.info(
        {
          userOpHash: hashOrUndefined(() => ep.hash(op, deps.chainId)),
          err: String((err as Error)?.message ?? err).slice(0, 300),
        },
        'op of a taken-over bundle not re-admitted',
      )
    }
  }
  deps.logger.info(
    { txHash: tx.hash, ops: ops.length, readmitted: opHashes.length },
    'taken-over bundle ops re-admitted',
  )
  return { entryPoint, opHashes }
}

/** A 7702 op read back from calldata lacks its authorization: its hash may need the chain's delegate. */
function hashOrUndefined(hash: () => Hash): Hash | undefined {
  try {
    return hash()
  } catch {
    return undefined
  }
}
