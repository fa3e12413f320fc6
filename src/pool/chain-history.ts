import type { Hash } from 'viem'

/** The fields of a block the tracker needs (what the BlockWatcher yields). */
export interface BlockHeader {
  number: bigint
  hash: Hash
  parentHash: Hash
  timestamp: bigint
  baseFeePerGas?: bigint | null
  gasLimit?: bigint
}

/** A processed block and whatever the pool needs to undo it on a reorg. */
export interface TrackedBlock<R> {
  header: BlockHeader
  record: R
}

/**
 * The last `capacity` processed blocks of the canonical chain, oldest first. Pure bookkeeping for
 * the chain tracker's reorg handling.
 */
export class ChainHistory<R> {
  private blocks: TrackedBlock<R>[] = []
  private readonly hashes = new Set<string>()

  constructor(private readonly capacity: number) {}

  get length(): number {
    return this.blocks.length
  }

  tip(): TrackedBlock<R> | undefined {
    return this.blocks[this.blocks.length - 1]
  }

  oldest(): TrackedBlock<R> | undefined {
    return this.blocks[0]
  }

  has(hash: Hash): boolean {
    return this.hashes.has(hash.toLowerCase())
  }

  /** Appends a block whose parent is the tip (or the first block); returns the blocks pruned off. */
  push(b: TrackedBlock<R>): TrackedBlock<R>[] {
    const tip = this.tip()
    if (tip && tip.header.hash.toLowerCase() !== b.header.parentHash.toLowerCase()) {
      throw new Error(`block ${b.header.number} ${b.header.hash} does not extend the tip ${tip.header.hash}`)
    }
    this.blocks.push(b)
    this.hashes.add(b.header.hash.toLowerCase())
    const pruned =
      this.blocks.length > this.capacity ? this.blocks.splice(0, this.blocks.length - this.capacity) : []
    for (const p of pruned) this.hashes.delete(p.header.hash.toLowerCase())
    return pruned
  }

  /** Removes the blocks after `hash` (all of them if `hash` is unknown); returns them newest first. */
  unwindTo(hash: Hash | undefined): TrackedBlock<R>[] {
    const k = hash?.toLowerCase()
    const i = k === undefined ? -1 : this.blocks.findIndex((b) => b.header.hash.toLowerCase() === k)
    const removed = this.blocks.splice(i + 1)
    for (const b of removed) this.hashes.delete(b.header.hash.toLowerCase())
    return removed.reverse()
  }

  clear(): void {
    this.blocks = []
    this.hashes.clear()
  }
}
