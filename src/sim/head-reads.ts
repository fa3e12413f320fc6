import type { Block, PublicClient } from 'viem'

/** Blocks kept: the head and the one before it (admissions in flight as the head moves). */
const KEPT_BLOCKS = 2
/**
 * How long a header read by number is reused. A same-height reorg replaces the block at a number;
 * a short life bounds how long an admission can see the replaced header to the same order as the
 * race any read by number has, while a busy second's admissions still share one read.
 */
const BLOCK_REUSE_MS = 1_000

/**
 * The head and its block, shared by concurrent admissions. Under load every admission asked the
 * node for the block number and then the whole block: two of its four node calls, the same answer
 * for every op admitted in that block. Concurrent callers join one eth_blockNumber in flight (the
 * answer is never older than the call that joined it), and a block's header is read once by number.
 */
export class HeadReads {
  private headInFlight?: Promise<bigint>
  private readonly blocks = new Map<bigint, { block: Promise<Block>; readAt: number }>()

  constructor(
    private readonly client: Pick<PublicClient, 'getBlockNumber' | 'getBlock'>,
    private readonly now: () => number = () => performance.now(),
  ) {}

  head(): Promise<bigint> {
    if (!this.headInFlight) {
      const p = this.client.getBlockNumber({ cacheTime: 0 })
      this.headInFlight = p
      const clear = () => {
        if (this.headInFlight === p) this.headInFlight = undefined
      }
      p.then(clear, clear)
    }
    return this.headInFlight
  }

  block(blockNumber: bigint): Promise<Block> {
    const now = this.now()
    const cached = this.blocks.get(blockNumber)
    if (cached && now - cached.readAt < BLOCK_REUSE_MS) return cached.block
    const b = this.client.getBlock({ blockNumber })
    this.blocks.set(blockNumber, { block: b, readAt: now })
    // A failed read is not kept: the next caller asks the node again.
    b.catch(() => {
      if (this.blocks.get(blockNumber)?.block === b) this.blocks.delete(blockNumber)
    })
    // Keep the newest few: a block number further back is read again, which stays correct.
    const numbers = [...this.blocks.keys()].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0))
    for (const n of numbers.slice(KEPT_BLOCKS)) this.blocks.delete(n)
    return b
  }
}
