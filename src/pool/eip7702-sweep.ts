import type { Hash, PublicClient } from 'viem'
import type { UserOperation } from '../chain/userop.js'
import { BoundedMap } from '../util/bounded-map.js'
import { errorMessage } from '../util/errors.js'
import type { Logger } from '../util/log.js'
import { consumedAuthorizationReason } from './eip7702-rules.js'

/** One pooled op carrying an authorization, as a pool lists them for the sweep. */
export interface AuthorizedOp {
  hash: Hash
  op: UserOperation
}

/**
 * The per-block sweep of both pools: an op whose authorization nonce its authority has used (it sent
 * a transaction) can never apply it, so it leaves the pool with the reason kept for lookups. Sweeps
 * run one after another, off the chain tracker's path; each reads one nonce per authority.
 */
export class AuthorizationSweep {
  private running: Promise<void> = Promise.resolve()
  private readonly dropped = new BoundedMap<string, string>(10_000)

  constructor(private readonly deps: { client: PublicClient; log: Logger }) {}

  /** Queues a sweep at `blockNumber` over `list()`; `drop` removes one op and says whether it was pooled. */
  schedule(
    blockNumber: bigint,
    list: () => Promise<AuthorizedOp[]>,
    drop: (hash: Hash) => Promise<boolean>,
  ): void {
    this.running = this.running
      .then(() => this.sweep(blockNumber, list, drop))
      .catch((err) => this.deps.log.warn({ err: errorMessage(err) }, 'pool: authorization sweep failed'))
  }

  /** Why an op left the pool without being mined, when the sweep dropped it (bounded memory). */
  droppedReason(hash: Hash): string | undefined {
    return this.dropped.get(hash.toLowerCase())
  }

  /** Resolves once the sweeps queued so far are done (tests). */
  settled(): Promise<void> {
    return this.running
  }

  private async sweep(
    blockNumber: bigint,
    list: () => Promise<AuthorizedOp[]>,
    drop: (hash: Hash) => Promise<boolean>,
  ): Promise<void> {
    const byAuthority = new Map<string, AuthorizedOp[]>()
    for (const o of await list()) {
      const key = o.op.sender.toLowerCase()
      byAuthority.set(key, [...(byAuthority.get(key) ?? []), o])
    }
    for (const ops of byAuthority.values()) {
      const address = (ops[0] as AuthorizedOp).op.sender
      const nonce = BigInt(await this.deps.client.getTransactionCount({ address, blockNumber }))
      for (const o of ops) {
        const reason = consumedAuthorizationReason(o.op, nonce)
        if (!reason || !(await drop(o.hash))) continue
        this.dropped.set(o.hash.toLowerCase(), reason)
        this.deps.log.info({ hash: o.hash, reason }, 'pool: op dropped')
      }
    }
  }
}
