import type { Address, Hash, PublicClient } from 'viem'
import { BlockWatcher } from '../chain/block-watcher.js'
import type { Logger } from '../util/log.js'
import type { BlockHeader } from './chain-history.js'
import { ChainTracker, type ChainTrackerHandler } from './chain-tracker.js'
import type { NewHeadHub } from './new-heads.js'

export type BlockSource = (signal: AbortSignal) => AsyncIterable<BlockHeader>

export interface ChainFollowerOptions<R> {
  client: PublicClient
  entryPoints: readonly Address[]
  pollIntervalMs: number
  historyBlocks: number
  hub: NewHeadHub
  logger: Logger
  handler: ChainTrackerHandler<R>
  /** Default: a BlockWatcher polling the node. */
  blockSource?: BlockSource
  /** Reputation's periodic decay and how often it runs. */
  decay: { run: () => void; intervalMs: number }
}

/**
 * What both pools run to follow the chain: the tracker fed by a block source, and the reputation
 * decay timer, started and stopped together. Each pool supplies what a block does to it.
 */
export class ChainFollower<R> {
  readonly tracker: ChainTracker<R>
  private readonly source: BlockSource
  private running?: { abort: AbortController; loop: Promise<void>; decay: NodeJS.Timeout }

  constructor(private readonly o: ChainFollowerOptions<R>) {
    this.source =
      o.blockSource ??
      ((signal) =>
        new BlockWatcher({ client: o.client, pollIntervalMs: o.pollIntervalMs, logger: o.logger }).blocks(
          signal,
        ))
    this.tracker = new ChainTracker<R>({
      client: o.client,
      entryPoints: o.entryPoints,
      historyBlocks: o.historyBlocks,
      hub: o.hub,
      logger: o.logger,
      handler: o.handler,
    })
  }

  get started(): boolean {
    return this.running !== undefined
  }

  /**
   * Processes `catchUp` blocks and then the current head before returning, so the pool starts from a
   * known block and base fee; then follows the source until stopped.
   */
  async start(catchUp: (latest: bigint) => Promise<bigint[]> = async () => []): Promise<void> {
    if (this.running) return
    const abort = new AbortController()
    const latest = await this.o.client.getBlock({ blockTag: 'latest' })
    for (const n of await catchUp(latest.number ?? 0n)) {
      await this.tracker.processHeader(toHeader(await this.o.client.getBlock({ blockNumber: n })))
    }
    if (latest.hash && latest.number !== null) await this.tracker.processHeader(toHeader(latest))
    const loop = this.tracker.run(this.source(abort.signal), abort.signal)
    const decay = setInterval(this.o.decay.run, this.o.decay.intervalMs)
    decay.unref()
    this.running = { abort, loop, decay }
  }

  async stop(): Promise<void> {
    const r = this.running
    if (!r) return
    this.running = undefined
    clearInterval(r.decay)
    r.abort.abort()
    await r.loop
    this.o.hub.close()
  }

  /** Feeds one block to the tracker directly (tests, or a caller that owns the block stream). */
  processBlock(header: BlockHeader): Promise<void> {
    return this.tracker.processHeader(header)
  }

  /** The latest processed block's base fee (what the pools order by). */
  baseFee(): bigint {
    return this.tracker.tip()?.baseFeePerGas ?? 0n
  }
}

/** A node's block as the tracker's header. */
export function toHeader(b: {
  number: bigint | null
  hash: Hash | null
  parentHash: Hash
  timestamp: bigint
  baseFeePerGas: bigint | null
  gasLimit: bigint
}): BlockHeader {
  if (b.number === null || b.hash === null) throw new Error('pending block')
  return {
    number: b.number,
    hash: b.hash,
    parentHash: b.parentHash,
    timestamp: b.timestamp,
    baseFeePerGas: b.baseFeePerGas,
    gasLimit: b.gasLimit,
  }
}
