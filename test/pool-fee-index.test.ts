import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { effectiveTip } from '../src/chain/fee-math.js'
import { FeeIndex, type Ranked, ranked } from '../src/pool/fee-index.js'
import { SortedList } from '../src/pool/sorted-list.js'

interface Item extends Ranked {
  id: number
}

function item(seq: number, prio: bigint, maxFee: bigint, shard = 0): Item {
  return { id: seq, ...ranked(seq, prio, maxFee, shard) }
}

/** The reference order: effective tip at baseFee, highest first, ties by arrival. */
function referenceOrder(items: Item[], baseFee: bigint): Item[] {
  return [...items].sort((a, b) => {
    const ta = effectiveTip({ maxFeePerGas: a.maxFee, maxPriorityFeePerGas: a.prio }, baseFee)
    const tb = effectiveTip({ maxFeePerGas: b.maxFee, maxPriorityFeePerGas: b.prio }, baseFee)
    return ta > tb ? -1 : ta < tb ? 1 : a.seq - b.seq
  })
}

const fee = fc.bigInt({ min: 0n, max: 300n })

describe('SortedList', () => {
  it('keeps a total order through inserts and deletes across chunk splits', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5000 }), fc.boolean()), { maxLength: 3000 }),
        (ops) => {
          const list = new SortedList<number>((a, b) => a - b)
          const ref = new Set<number>()
          for (const [x, del] of ops) {
            if (del) expect(list.delete(x)).toBe(ref.delete(x))
            else if (!ref.has(x)) {
              list.insert(x)
              ref.add(x)
            }
          }
          const sorted = [...ref].sort((a, b) => a - b)
          expect([...list.values()]).toEqual(sorted)
          expect(list.size).toBe(sorted.length)
          expect(list.first()).toBe(sorted[0])
          expect(list.last()).toBe(sorted[sorted.length - 1])
          const from = sorted[Math.floor(sorted.length / 2)] ?? 0
          expect([...list.valuesFrom((x) => x < from)]).toEqual(sorted.filter((x) => x >= from))
        },
      ),
      { numRuns: 50 },
    )
  })
})

describe('SortedList bulk operations', () => {
  it('deleteAll and insertAll agree with one-by-one operations', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 100_000 }), { maxLength: 4000 }),
        fc.nat(4000),
        (xs, cut) => {
          const list = new SortedList<number>((a, b) => a - b)
          const first = xs.slice(0, cut)
          const rest = xs.slice(cut)
          for (const x of first) list.insert(x)
          list.insertAll(rest)
          expect([...list.values()]).toEqual([...xs].sort((a, b) => a - b))
          const gone = new Set(xs.filter((_, i) => i % 3 === 0))
          list.deleteAll(gone)
          const left = xs.filter((x) => !gone.has(x)).sort((a, b) => a - b)
          expect([...list.values()]).toEqual(left)
          expect(list.size).toBe(left.length)
          list.insert(-1)
          expect(list.first()).toBe(-1)
        },
      ),
      { numRuns: 40 },
    )
  })
})

describe('FeeIndex', () => {
  it('orders fees that differ by 1 wei above 2^53 exactly', () => {
    const big = 1n << 100n
    const idx = new FeeIndex<Item>(1)
    idx.add(item(0, big, big * 2n))
    idx.add(item(1, big + 1n, big * 2n))
    idx.add(item(2, big - 1n, big * 2n))
    expect(idx.best(0, 3).map((x) => x.id)).toEqual([1, 0, 2])
    idx.setBaseFee(big)
    // tips: min(prio, 2^100): 2^100, 2^100, 2^100 - 1 → ties by arrival
    expect(idx.best(0, 3).map((x) => x.id)).toEqual([0, 1, 2])
  })

  it('moves thousands of ops at once on a big base fee jump and stays exact', () => {
    const idx = new FeeIndex<Item>(2)
    const items: Item[] = []
    let x = 12345
    const next = () => {
      x = (x * 1103515245 + 12345) % 2 ** 31
      return BigInt(x % 10_000)
    }
    for (let i = 0; i < 5000; i++) {
      const prio = next()
      const it = item(i, prio, prio + next(), i % 2)
      items.push(it)
      idx.add(it)
    }
    for (const base of [0n, 5000n, 20_000n, 3000n, 0n, 9999n]) {
      idx.setBaseFee(base)
      for (let s = 0; s < 2; s++) {
        const want = referenceOrder(
          items.filter((i) => i.shard === s),
          base,
        )
        expect(idx.best(s, 10_000).map((i) => i.id)).toEqual(want.map((i) => i.id))
      }
    }
  })

  it('orders by effective tip at the current base fee, ties by arrival', () => {
    const idx = new FeeIndex<Item>(1)
    const a = item(0, 10n, 100n) // headroom 90: tip stays 10 until the base fee passes 90
    const b = item(1, 50n, 60n) // headroom 10: tip falls as soon as the base fee passes 10
    const c = item(2, 10n, 100n) // same fees as a, arrived later
    for (const x of [a, b, c]) idx.add(x)
    expect(idx.best(0, 10).map((x) => x.id)).toEqual([1, 0, 2])
    idx.setBaseFee(55n) // b: min(50, 5) = 5 < 10
    expect(idx.best(0, 10).map((x) => x.id)).toEqual([0, 2, 1])
    idx.setBaseFee(0n)
    expect(idx.best(0, 10).map((x) => x.id)).toEqual([1, 0, 2])
    expect(idx.worst()?.id).toBe(2)
  })

  it('matches a full sort under random adds, removes and base fee moves (property)', () => {
    const action = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), prio: fee, extra: fee, shard: fc.nat(2) }),
      fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('base' as const), baseFee: fee }),
    )
    fc.assert(
      fc.property(fc.array(action, { maxLength: 200 }), fc.nat(20), (actions, k) => {
        const idx = new FeeIndex<Item>(3)
        const live: Item[] = []
        let seq = 0
        for (const a of actions) {
          if (a.kind === 'add') {
            const x = item(seq++, a.prio, a.prio + a.extra, a.shard)
            idx.add(x)
            live.push(x)
          } else if (a.kind === 'remove' && live.length > 0) {
            const [x] = live.splice(a.pick % live.length, 1)
            idx.remove(x as Item)
          } else if (a.kind === 'base') {
            idx.setBaseFee(a.baseFee)
          }
        }
        expect(idx.size).toBe(live.length)
        for (let s = 0; s < 3; s++) {
          const want = referenceOrder(
            live.filter((x) => x.shard === s),
            idx.baseFee,
          ).slice(0, k)
          expect(idx.best(s, k).map((x) => x.id)).toEqual(want.map((x) => x.id))
        }
        const all = referenceOrder(live, idx.baseFee)
        expect(idx.worst()?.id).toBe(all[all.length - 1]?.id)
      }),
      { numRuns: 300 },
    )
  })
})
