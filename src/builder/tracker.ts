import type { Address, Hash, Hex, PublicClient } from 'viem'
import type { Fees, MinedTx } from './machine/types.js'

/** A transaction from our key pending in the node at the chain's nonce. */
export interface LeftoverTx {
  nonce: bigint
  hash: Hash
  fees: Fees
  to?: Address
  input?: Hex
}

/**
 * The chain side of the transaction tracker: what the node says about the signer's nonce and our
 * transactions. The bookkeeping itself (nonce, in-flight txs, fee floor) is pure, in machine/.
 */
export class ChainTracker {
  constructor(
    private readonly client: PublicClient,
    readonly address: Address,
  ) {}

  /** The next nonce the chain will accept from us (mined transactions only). */
  latestNonce(): Promise<bigint> {
    return this.client.getTransactionCount({ address: this.address, blockTag: 'latest' }).then(BigInt)
  }

  /** The first of `hashes` that is mined, with what its receipt says. */
  async findMined(hashes: Hash[]): Promise<(MinedTx & { reverted: boolean }) | undefined> {
    for (const hash of hashes) {
      const r = await this.client.getTransactionReceipt({ hash }).catch(() => undefined)
      if (r) {
        return {
          hash,
          blockNumber: r.blockNumber,
          gasUsed: r.gasUsed,
          effectiveGasPrice: r.effectiveGasPrice,
          reverted: r.status !== 'success',
        }
      }
    }
    return undefined
  }

  /** Whether the node still knows the transaction (pending or mined). */
  async isKnown(hash: Hash): Promise<boolean> {
    try {
      await this.client.getTransaction({ hash })
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
  async findLeftover(): Promise<LeftoverTx | undefined> {
    const [latest, pending] = await Promise.all([
      this.latestNonce(),
      this.client.getTransactionCount({ address: this.address, blockTag: 'pending' }).then(BigInt),
    ])
    if (pending <= latest) return undefined
    const content = await this.client
      .request({ method: 'txpool_content' as never, params: [] as never })
      .catch(() => undefined)
    const bySender = (content as { pending?: Record<string, Record<string, RawPoolTx>> } | undefined)?.pending
    const mine = bySender
      ? Object.entries(bySender).find(([a]) => a.toLowerCase() === this.address.toLowerCase())?.[1]
      : undefined
    const tx = mine?.[latest.toString()]
    if (!tx?.hash || !tx.maxFeePerGas || !tx.maxPriorityFeePerGas) return undefined
    return {
      nonce: latest,
      hash: tx.hash,
      fees: { maxFeePerGas: BigInt(tx.maxFeePerGas), maxPriorityFeePerGas: BigInt(tx.maxPriorityFeePerGas) },
      to: tx.to ?? undefined,
      input: tx.input,
    }
  }
}

interface RawPoolTx {
  hash?: Hash
  to?: Address | null
  input?: Hex
  maxFeePerGas?: string
  maxPriorityFeePerGas?: string
}
