/** Mined bundles remembered for the fill ratio: a few blocks' worth for several senders. */
const WINDOW = 16

/**
 * The block space this bundler's senders share. A transaction enters a block only if its gas
 * *limit* fits in what the block has left after the gas *used* by the transactions before it, and a
 * bundle's limit is well above its use (each op's call gas is reserved in full). With N senders
 * each sending a full-size bundle per block, the last one often does not fit: it waits a block, then
 * another, while its siblings take the space. So the proposer caps a bundle's gas limit at what
 * lets N bundles like the recent ones share one block: L + (N − 1)·ρ·L ≤ block gas limit, where ρ
 * is the largest used/limit of the last mined bundles (the fullest is the careful guess). Pure:
 * the sender driver feeds it mined bundles, the proposer asks it for the cap.
 */
export class BlockShare {
  private readonly fills: { limit: bigint; used: bigint }[] = []

  constructor(private readonly senders: number) {}

  /** A mined bundle of ours: the gas limit it was sent with and the gas its receipt says it used. */
  record(limit: bigint, used: bigint): void {
    if (limit <= 0n || used <= 0n || used > limit) return
    this.fills.push({ limit, used })
    if (this.fills.length > WINDOW) this.fills.shift()
  }

  /**
   * The largest bundle gas limit with which every sender's bundle fits in one block of
   * `blockGasLimit`; undefined with one sender or before any bundle was mined (no cap then).
   */
  cap(blockGasLimit: bigint): bigint | undefined {
    if (this.senders <= 1 || this.fills.length === 0) return undefined
    let fullest = this.fills[0] as { limit: bigint; used: bigint }
    for (const f of this.fills) if (f.used * fullest.limit > fullest.used * f.limit) fullest = f
    const others = BigInt(this.senders - 1)
    return (blockGasLimit * fullest.limit) / (fullest.limit + others * fullest.used)
  }
}
