/** Mined bundles remembered for the fill ratio: a few blocks' worth for several senders. */
const WINDOW = 16
/** Sent bundles remembered for their gas limit until mined: replaced or dropped ones never are. */
const MAX_SENT = 256

/**
 * The block space this bundler's senders share. A transaction enters a block only if its gas
 * *limit* fits in what the block has left after the gas *used* by the transactions before it, and a
 * bundle's limit is well above its use (each op's call gas is reserved in full). With N senders
 * each sending a full-size bundle per block, the last one often does not fit: it waits a block, then
 * another, while its siblings take the space. So the proposer caps a bundle's gas limit at what
 * lets N bundles like the recent ones share one block: L + (N − 1)·ρ·L ≤ block gas limit, where ρ
 * is the largest used/limit of the last mined bundles (the fullest is the careful guess). No I/O:
 * the sender drivers tell it what they sent and what was mined, the proposer asks it for the cap.
 */
export class BlockShare {
  private readonly fills: { limit: bigint; used: bigint }[] = []
  private readonly sentLimits = new Map<string, bigint>()

  constructor(private readonly senders: number) {}

  /** A bundle of ours went out with this gas limit. */
  sent(hash: string, gasLimit: bigint): void {
    if (this.sentLimits.size >= MAX_SENT) this.sentLimits.clear()
    this.sentLimits.set(hash.toLowerCase(), gasLimit)
  }

  /** A transaction of ours was mined: if it is a bundle we sent, its fill counts. */
  mined(hash: string, gasUsed: bigint | undefined): void {
    const limit = this.sentLimits.get(hash.toLowerCase())
    if (limit === undefined || gasUsed === undefined) return
    this.sentLimits.delete(hash.toLowerCase())
    this.record(limit, gasUsed)
  }

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
