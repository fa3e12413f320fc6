/**
 * An ordered collection under a total order, stored as a list of small sorted chunks (the idea of
 * Python's SortedList): insert and delete are a binary search plus a splice inside one chunk of at
 * most CHUNK elements, and in-order iteration from any position is a pointer walk. At 100k elements
 * that is ~200 chunks, so every operation stays in the microseconds without a balanced tree.
 *
 * The comparator must be total (no two distinct elements compare equal), so an element can be found
 * again by comparison alone; the pool breaks fee ties with the arrival sequence.
 */
const CHUNK = 512

export class SortedList<T> {
  private chunks: T[][] = []
  private count = 0

  constructor(private readonly cmp: (a: T, b: T) => number) {}

  get size(): number {
    return this.count
  }

  insert(x: T): void {
    this.count++
    if (this.chunks.length === 0) {
      this.chunks.push([x])
      return
    }
    const ci = this.chunkFor(x)
    const chunk = this.chunks[ci] as T[]
    chunk.splice(this.lowerBoundIn(chunk, x), 0, x)
    if (chunk.length > CHUNK * 2) this.chunks.splice(ci + 1, 0, chunk.splice(CHUNK))
  }

  /** Removes the element equal to `x` under the comparator; false if absent. */
  delete(x: T): boolean {
    if (this.chunks.length === 0) return false
    const ci = this.chunkFor(x)
    const chunk = this.chunks[ci] as T[]
    const i = this.lowerBoundIn(chunk, x)
    if (i >= chunk.length || this.cmp(chunk[i] as T, x) !== 0) return false
    chunk.splice(i, 1)
    this.count--
    if (chunk.length === 0) this.chunks.splice(ci, 1)
    return true
  }

  /** Removes every element of `xs` in one O(n) pass (for bulk moves; `delete` is cheaper for a few). */
  deleteAll(xs: Set<T>): void {
    if (xs.size === 0) return
    const kept: T[][] = []
    let count = 0
    for (const chunk of this.chunks) {
      const c = chunk.filter((x) => !xs.has(x))
      count += c.length
      if (c.length > 0) kept.push(c)
    }
    this.chunks = kept
    this.count = count
  }

  /** Inserts many elements by one sort and one merge: O(n + k log k) instead of k binary-search splices. */
  insertAll(xs: T[]): void {
    if (xs.length === 0) return
    const add = [...xs].sort(this.cmp)
    const merged: T[] = new Array(this.count + add.length)
    let i = 0
    let j = 0
    let k = 0
    const old = this.chunks.flat()
    while (i < old.length && j < add.length) {
      merged[k++] = this.cmp(old[i] as T, add[j] as T) <= 0 ? (old[i++] as T) : (add[j++] as T)
    }
    while (i < old.length) merged[k++] = old[i++] as T
    while (j < add.length) merged[k++] = add[j++] as T
    this.chunks = []
    for (let c = 0; c < merged.length; c += CHUNK) this.chunks.push(merged.slice(c, c + CHUNK))
    this.count = merged.length
  }

  first(): T | undefined {
    return this.chunks[0]?.[0]
  }

  last(): T | undefined {
    const chunk = this.chunks[this.chunks.length - 1]
    return chunk ? chunk[chunk.length - 1] : undefined
  }

  clear(): void {
    this.chunks = []
    this.count = 0
  }

  /** Elements in order. */
  *values(): IterableIterator<T> {
    for (const chunk of this.chunks) yield* chunk
  }

  /**
   * Elements in order starting at the first one for which `before(x)` is false; `before` must be
   * monotone (true for a prefix of the order).
   */
  *valuesFrom(before: (x: T) => boolean): IterableIterator<T> {
    let ci = 0
    // Skip whole chunks whose last element is still before the start.
    while (ci < this.chunks.length) {
      const chunk = this.chunks[ci] as T[]
      if (!before(chunk[chunk.length - 1] as T)) break
      ci++
    }
    if (ci >= this.chunks.length) return
    const chunk = this.chunks[ci] as T[]
    let lo = 0
    let hi = chunk.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (before(chunk[mid] as T)) lo = mid + 1
      else hi = mid
    }
    for (let i = lo; i < chunk.length; i++) yield chunk[i] as T
    for (let c = ci + 1; c < this.chunks.length; c++) yield* this.chunks[c] as T[]
  }

  /** A cursor for merging: `peek` the current element, `next` to advance. */
  cursor(): Cursor<T> {
    return new Cursor(this.chunks)
  }

  /** Index of the chunk `x` belongs in: the first whose last element is ≥ x, else the last chunk. */
  private chunkFor(x: T): number {
    let lo = 0
    let hi = this.chunks.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const chunk = this.chunks[mid] as T[]
      if (this.cmp(chunk[chunk.length - 1] as T, x) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  private lowerBoundIn(chunk: T[], x: T): number {
    let lo = 0
    let hi = chunk.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.cmp(chunk[mid] as T, x) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

/** Walks a SortedList without a generator (cheaper in the getOps merge loop). Invalid after a write. */
export class Cursor<T> {
  private ci = 0
  private i = 0

  constructor(private readonly chunks: T[][]) {}

  peek(): T | undefined {
    return this.chunks[this.ci]?.[this.i]
  }

  next(): void {
    const chunk = this.chunks[this.ci]
    if (!chunk) return
    if (++this.i >= chunk.length) {
      this.ci++
      this.i = 0
    }
  }
}
