import type { Address, Hash, Hex, PublicClient } from 'viem'
import { type Eip7702Auth, fromWireAuthorization, type WireAuthorization } from '../../chain/eip7702.js'
import type { Fees } from '../../chain/fee-math.js'
import type { MinedTx, NonceSync } from '../machine/types.js'
import type { TransactionSender } from '../submit/types.js'
import type { TxObservation } from './drop.js'

/** A transaction from our key pending in the node at the chain's nonce. */
export interface LeftoverTx {
  nonce: bigint
  hash: Hash
  fees: Fees
  to?: Address
  input?: Hex
  /** A type-4 bundle's authorizations (its 7702 ops carry them again when re-admitted). */
  authorizationList?: Eip7702Auth[]
}

export interface TransactionTrackerDeps {
  /** The status node (`--node_http`). */
  client: PublicClient
  address: Address
  /** The sender that submitted: its endpoint is asked first whether a transaction is still there. */
  submitter: Pick<TransactionSender, 'status'>
  /** Re-admits the ops of a bundle taken over at start (see takeover.ts). */
  readmit(tx: LeftoverTx): Promise<{ entryPoint?: Address; opHashes: Hash[] }>
}

/**
 * The node side of the transaction tracker: what the chain and the submitting endpoint say about
 * the signer's nonce and our transactions. It only reads; the decisions on what it reads (mined,
 * dropped, taken over, reset) are the pure bookkeeping's (tracking.ts, drop.ts) and the machine's.
 */
export class TransactionTracker {
  constructor(private readonly deps: TransactionTrackerDeps) {}

  /** The next nonce the chain will accept from us (mined transactions only). */
  latestNonce(): Promise<bigint> {
    const { client, address } = this.deps
    return client.getTransactionCount({ address, blockTag: 'latest' }).then(BigInt)
  }

  /** The chain's latest block now (the pool's heads may lag it); undefined if the node does not say. */
  chainBlock(): Promise<bigint | undefined> {
    return this.deps.client.getBlockNumber({ cacheTime: 0 }).catch(() => undefined)
  }

  /** Receipts of the mined `hashes` the node returns (a failed read leaves a hash out). */
  async receipts(hashes: readonly Hash[]): Promise<MinedTx[]> {
    const out: MinedTx[] = []
    for (const hash of hashes) {
      const r = await this.receipt(hash)
      if (r) out.push(r)
    }
    return out
  }

  /**
   * The answer to the machine's `resetNonce`: the chain's nonce, which of `checkHashes` is mined,
   * and a transaction from our key pending at that nonce that is taken over (its ops re-admitted).
   */
  async sync(checkHashes: readonly Hash[]): Promise<NonceSync> {
    let mined: MinedTx | undefined
    for (const hash of checkHashes) {
      mined = await this.receipt(hash)
      if (mined) break
    }
    const chainNonce = await this.latestNonce()
    if (mined) return { kind: 'ok', chainNonce, mined }
    const leftover = await this.findLeftover().catch(() => undefined)
    if (leftover?.nonce !== chainNonce) return { kind: 'ok', chainNonce }
    const { entryPoint, opHashes } = await this.deps.readmit(leftover)
    return {
      kind: 'ok',
      chainNonce,
      inFlight: { hash: leftover.hash, fees: leftover.fees, opHashes, entryPoint },
    }
  }

  /**
   * What the accepting endpoint says of `hash` and, when it does not settle it, what the status
   * node says. Throws on node trouble (the machine asks again on the next head).
   */
  async observe(hash: Hash): Promise<TxObservation> {
    const accepting = (await this.deps.submitter.status?.(hash)) ?? 'unknown'
    if (accepting !== 'missing' && accepting !== 'unknown') return { accepting }
    const [knows, chainNonce] = await Promise.all([this.isKnown(hash), this.latestNonce()])
    return { accepting, node: { knows, chainNonce } }
  }

  private async receipt(hash: Hash): Promise<MinedTx | undefined> {
    const r = await this.deps.client.getTransactionReceipt({ hash }).catch(() => undefined)
    if (!r) return undefined
    return {
      hash,
      blockNumber: r.blockNumber,
      gasUsed: r.gasUsed,
      effectiveGasPrice: r.effectiveGasPrice,
      reverted: r.status !== 'success',
    }
  }

  /** Whether the status node knows the transaction (pending or mined). */
  private async isKnown(hash: Hash): Promise<boolean> {
    try {
      await this.deps.client.getTransaction({ hash })
      return true
    } catch (err) {
      if ((err as { name?: string }).name === 'TransactionNotFoundError') return false
      throw err
    }
  }

  /**
   * A transaction from our key waiting in the node's mempool at the latest nonce (pending nonce >
   * latest nonce), e.g. left by a previous run. Read from txpool_content where the node has it.
   */
  private async findLeftover(): Promise<LeftoverTx | undefined> {
    const { client, address } = this.deps
    const [latest, pending] = await Promise.all([
      this.latestNonce(),
      client.getTransactionCount({ address, blockTag: 'pending' }).then(BigInt),
    ])
    if (pending <= latest) return undefined
    const content = await client
      .request({ method: 'txpool_content' as never, params: [] as never })
      .catch(() => undefined)
    const bySender = (content as { pending?: Record<string, Record<string, RawPoolTx>> } | undefined)?.pending
    const mine = bySender
      ? Object.entries(bySender).find(([a]) => a.toLowerCase() === address.toLowerCase())?.[1]
      : undefined
    const tx = mine?.[latest.toString()]
    if (!tx?.hash || !tx.maxFeePerGas || !tx.maxPriorityFeePerGas) return undefined
    return {
      nonce: latest,
      hash: tx.hash,
      fees: { maxFeePerGas: BigInt(tx.maxFeePerGas), maxPriorityFeePerGas: BigInt(tx.maxPriorityFeePerGas) },
      to: tx.to ?? undefined,
      input: tx.input,
      ...(tx.authorizationList?.length
        ? { authorizationList: tx.authorizationList.map(fromWireAuthorization) }
        : {}),
    }
  }
}

interface RawPoolTx {
  hash?: Hash
  to?: Address | null
  input?: Hex
  authorizationList?: WireAuthorization[]
  maxFeePerGas?: string
  maxPriorityFeePerGas?: string
}
