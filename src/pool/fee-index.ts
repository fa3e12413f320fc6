import { SortedList } from './sorted-list.js'

/**
 * What the index needs of a pooled op. `headroom` = maxFee − maxPriorityFee, fixed per op. The `*F`
 * fields are the same values as doubles (see `ranked`).
 */
export interface Ranked {
  seq: number
  prio: bigint
  maxFee: bigint
  headroom: bigint
  prioF: number
  maxFeeF: number
  headroomF: number
  shard: number
}

/** The fee keys of an op. */
export function ranked(seq: number, prio: bigint, maxFee: bigint, shard: number): Ranked {
  const headroom = maxFee - prio
  return {
    seq,
    prio,
    maxFee,
    headroom,
    prioF: Number(prio),
    maxFeeF: Number(maxFee),
    headroomF: Number(headroom),
    shard,
  }
}

// bigint comparisons dominate sorting; Number(bigint) rounds monotonically, so unequal doubles already
// give the exact order and only equal doubles need the bigint comparison.
const cmpBig = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0)
const byPrioDesc = (a: Ranked, b: Ranked): number =>
  b.prioF - a.prioF || cmpBig(b.prio, a.prio) || a.seq - b.seq
const byMaxFeeDesc = (a: Ranked, b: Ranked): number =>
  b.maxFeeF - a.maxFeeF || cmpBig(b.maxFee, a.maxFee) || a.seq - b.seq
const byHeadroomAsc = (a: Ranked, b: Ranked): number =>
  a.headroomF - b.headroomF || cmpBig(a.headroom, b.headroom) || a.seq - b.seq

/** Below this many movers a base fee change moves ops one by one; above, lists are rebuilt by merge. */
const BULK_MOVE = 256

interface Shard<E> {
  /** Ops whose tip is their maxPriorityFee at the current base fee (headroom ≥ baseFee). */
  prioBound: SortedList<E>
  /** Ops whose tip is maxFee − baseFee (headroom < baseFee): ordering by maxFee is ordering by tip. */
  feeBound: SortedList<E>
}

/**
 * Orders ops by effective tip min(prio, maxFee − baseFee) at a changing base fee without re-sorting.
 *
 * Every op's tip is either its prio (when maxFee − prio ≥ baseFee) or maxFee − baseFee, and within
 * each of those two groups a fixed key (prio, resp. maxFee) orders it exactly as the tip does. So each
 * shard keeps two sorted lists and the best ops are a two-way merge: O(maxOps) per getOps. When the
 * base fee moves, only the ops whose headroom lies between the old and new base fee change group;
 * a third list sorted by headroom finds exactly those.
 */
export class FeeIndex<E extends Ranked> {
  private readonly shards: Shard<E>[]
  private readonly byHeadroom = new SortedList<E>(byHeadroomAsc)
  private base: bigint

  constructor(
    readonly numShards: number,
    baseFee = 0n,
  ) {
    this.base = baseFee
    this.shards = Array.from({ length: numShards }, () => ({
      prioBound: new SortedList<E>(byPrioDesc),
      feeBound: new SortedList<E>(byMaxFeeDesc),
    }))
  }

  get baseFee(): bigint {
    return this.base
  }

  get size(): number {
    return this.byHeadroom.size
  }

  /** The op's effective tip at the current base fee (negative if it cannot pay the base fee). */
  tip(e: Ranked): bigint {
    const feeBound = e.maxFee - this.base
    // biome-ignore lint/complexity/useMathMinMax: Math.min does not take bigint
    return feeBound < e.prio ? feeBound : e.prio
  }

  /** True if `a` ranks before `b`: higher tip, or equal tip and earlier arrival. */
  ranksBefore(a: Ranked, b: Ranked): boolean {
    const ta = this.tip(a)
    const tb = this.tip(b)
    return ta > tb || (ta === tb && a.seq < b.seq)
  }

  add(e: E): void {
    this.byHeadroom.insert(e)
    this.groupOf(e).insert(e)
  }

  remove(e: E): void {
    if (!this.byHeadroom.delete(e)) return
    this.groupOf(e).delete(e)
  }

  clear(): void {
    this.byHeadroom.clear()
    for (const s of this.shards) {
      s.prioBound.clear()
      s.feeBound.clear()
    }
  }

  /** Moves the ops whose group flips between the old and the new base fee. */
  setBaseFee(baseFee: bigint): void {
    const old = this.base
    if (baseFee === old) return
    const lo = old < baseFee ? old : baseFee
    const hi = old < baseFee ? baseFee : old
    const movers: E[] = []
    for (const e of this.byHeadroom.valuesFrom((x) => x.headroom < lo)) {
      if (e.headroom >= hi) break
      movers.push(e)
    }
    if (movers.length < BULK_MOVE) {
      for (const e of movers) this.groupOf(e).delete(e)
      this.base = baseFee
      for (const e of movers) this.groupOf(e).insert(e)
      return
    }
    const byList = new Map<SortedList<E>, E[]>()
    const group = (e: E) => {
      const list = this.groupOf(e)
      let xs = byList.get(list)
      if (!xs) {
        xs = []
        byList.set(list, xs)
      }
      xs.push(e)
    }
    for (const e of movers) group(e)
    for (const [list, xs] of byList) list.deleteAll(new Set(xs))
    byList.clear()
    this.base = baseFee
    for (const e of movers) group(e)
    for (const [list, xs] of byList) list.insertAll(xs)
  }

  /** Up to `max` ops of one shard, best tip first, ties by arrival. */
  best(shard: number, max: number): E[] {
    const s = this.shards[shard]
    if (!s) throw new RangeError(`shard ${shard} out of range 0..${this.numShards - 1}`)
    const out: E[] = []
    const a = s.prioBound.cursor()
    const b = s.feeBound.cursor()
    while (out.length < max) {
      const x = a.peek()
      const y = b.peek()
      if (x === undefined && y === undefined) break
      if (y === undefined || (x !== undefined && this.ranksBefore(x, y))) {
        out.push(x as E)
        a.next()
      } else {
        out.push(y)
        b.next()
      }
    }
    return out
  }

  /** The op that ranks last in the whole index (lowest tip, latest arrival among equals). */
  worst(): E | undefined {
    let worst: E | undefined
    for (const s of this.shards) {
      for (const e of [s.prioBound.last(), s.feeBound.last()]) {
        if (e !== undefined && (worst === undefined || this.ranksBefore(worst, e))) worst = e
      }
    }
    return worst
  }

  private groupOf(e: Ranked): SortedList<E> {
    const s = this.shards[e.shard] as Shard<E>
    return e.headroom >= this.base ? s.prioBound : s.feeBound
  }
}
