import type { Address, Hash, PublicClient } from 'viem'
import { type Logger, silentLogger } from '../util/log.js'
import { type BlockHeader, ChainHistory, type TrackedBlock } from './chain-history.js'
import { type MinedOpEvent, minedOpsFromReceipt, USER_OPERATION_EVENT } from './mined-ops.js'
import type { NewHeadHub } from './new-heads.js'
import type { AddressUpdate } from './types.js'

/** Everything read from the node about one block, before any state changes. */
export interface BlockData {
  header: BlockHeader
  mined: MinedOpEvent[]
  /** Per tracked address (lowercase): nonce, balance and transactions in this block. */
  addressUpdates: Map<string, AddressUpdate>
}

/**
 * What the pool does with blocks. The in-memory pool answers synchronously, so a reorg is applied in
 * one step; the Redis pool answers with promises (each of its steps is one atomic script).
 */
export interface ChainTrackerHandler<R> {
  /** A block joined the canonical chain; returns what is needed to undo it. */
  apply(block: BlockData): R | Promise<R>
  /** A block left the canonical chain (newest first). */
  unwind(block: TrackedBlock<R>): void | Promise<void>
  /** A block fell out of the reorg window. */
  prune(block: TrackedBlock<R>): void | Promise<void>
}

export interface ChainTrackerOptions<R> {
  client: PublicClient
  entryPoints: readonly Address[]
  historyBlocks: number
  handler: ChainTrackerHandler<R>
  hub: NewHeadHub
  logger?: Logger
}

/**
 * Follows the canonical chain block by block. For each new block it walks back through parent
 * hashes to the last block it processed (filling gaps and finding the common ancestor of a reorg),
 * reads every block of the new branch, then unwinds the abandoned blocks and applies the new ones in
 * one synchronous step, and finally publishes one new head per applied block, in order.
 */
export class ChainTracker<R> {
  private readonly history: ChainHistory<R>
  private readonly log: Logger

  constructor(private readonly o: ChainTrackerOptions<R>) {
    this.history = new ChainHistory<R>(o.historyBlocks)
    this.log = o.logger ?? silentLogger
  }

  tip(): BlockHeader | undefined {
    return this.history.tip()?.header
  }

  /** Consumes a block source until it ends or `signal` aborts; a failed block is retried via the next one. */
  async run(source: AsyncIterable<BlockHeader>, signal: AbortSignal): Promise<void> {
    for await (const header of source) {
      if (signal.aborted) break
      try {
        await this.processHeader(header)
      } catch (err) {
        this.log.warn({ err, block: header.number, hash: header.hash }, 'chain tracker: block not processed')
      }
    }
  }

  async processHeader(header: BlockHeader): Promise<void> {
    if (this.history.has(header.hash)) return
    const branch: BlockHeader[] = [header]
    let ancestor: Hash | undefined
    if (this.history.length > 0) {
      let cur = header
      // Bounded: beyond the window the old chain is dropped whole (a reorg deeper than we remember).
      for (;;) {
        if (this.history.has(cur.parentHash)) {
          ancestor = cur.parentHash
          break
        }
        if (branch.length > this.o.historyBlocks) break
        cur = await this.fetchHeader(cur.parentHash)
        branch.unshift(cur)
      }
    }
    const tracked = this.o.hub.trackedAddresses()
    const data: BlockData[] = []
    for (const h of branch) data.push(await this.fetchBlockData(h, tracked))

    // From here on synchronous for a synchronous handler: no reader sees half a reorg.
    const unwound = this.history.unwindTo(ancestor)
    if (unwound.length > 0) {
      this.log.info(
        {
          from: unwound[unwound.length - 1]?.header.number,
          to: unwound[0]?.header.number,
          newTip: header.number,
        },
        'chain tracker: reorg',
      )
    }
    const h = this.o.handler
    for (const b of unwound) {
      const done = h.unwind(b)
      if (done instanceof Promise) await done
    }
    for (const d of data) {
      const applied = h.apply(d)
      const record = applied instanceof Promise ? await applied : applied
      for (const p of this.history.push({ header: d.header, record })) {
        const done = h.prune(p)
        if (done instanceof Promise) await done
      }
    }
    for (const d of data) {
      this.o.hub.publish({ blockNumber: d.header.number, blockHash: d.header.hash }, d.addressUpdates)
    }
  }

  private async fetchHeader(hash: Hash): Promise<BlockHeader> {
    const b = await this.o.client.getBlock({ blockHash: hash })
    if (b.hash === null || b.number === null) throw new Error(`block ${hash} is pending`)
    return {
      number: b.number,
      hash: b.hash,
      parentHash: b.parentHash,
      timestamp: b.timestamp,
      baseFeePerGas: b.baseFeePerGas,
      gasLimit: b.gasLimit,
    }
  }

  private async fetchBlockData(header: BlockHeader, tracked: Address[]): Promise<BlockData> {
    const { client } = this.o
    const logs =
      this.o.entryPoints.length === 0
        ? []
        : await client.getLogs({
            blockHash: header.hash,
            address: [...this.o.entryPoints],
            event: USER_OPERATION_EVENT,
          })
    const addressUpdates = new Map<string, AddressUpdate>()
    if (logs.length === 0 && tracked.length === 0) return { header, mined: [], addressUpdates }

    const block = await client.getBlock({ blockHash: header.hash, includeTransactions: true })
    const inputs = new Map(block.transactions.map((tx) => [tx.hash.toLowerCase(), tx.input]))
    const mined: MinedOpEvent[] = []
    const txHashes = [...new Set(logs.map((l) => l.transactionHash))]
    for (const txHash of txHashes) {
      const receipt = await client.getTransactionReceipt({ hash: txHash })
      mined.push(...minedOpsFromReceipt(receipt, inputs.get(txHash.toLowerCase()), this.o.entryPoints))
    }

    for (const address of tracked) {
      addressUpdates.set(address, { address, balance: 0n, minedTxHashes: [] })
    }
    for (const tx of block.transactions) {
      const u = addressUpdates.get(tx.from.toLowerCase())
      if (!u) continue
      u.minedTxHashes.push(tx.hash)
      const nonce = BigInt(tx.nonce)
      if (u.nonce === undefined || nonce > u.nonce) u.nonce = nonce
    }
    // Balances at exactly this block (EIP-1898 block hash), so a reorg cannot mix two chains.
    await Promise.all(
      [...addressUpdates.values()].map(async (u) => {
        const hex = await client.request({
          method: 'eth_getBalance',
          params: [u.address, { blockHash: header.hash }] as never,
        })
        u.balance = BigInt(hex as string)
      }),
    )
    return { header, mined, addressUpdates }
  }
}
