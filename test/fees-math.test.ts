import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  addOverheadPercent,
  bundleFees,
  effectiveTip,
  raiseByPercent,
  replacementFloor,
  requiredOpFees,
} from '../src/chain/fee-math.js'

describe('raiseByPercent (ceil)', () => {
  it.each([
    [100n, 10, 110n],
    [101n, 10, 112n], // 111.1 -> 112
    [0n, 10, 0n],
    [1n, 10, 2n], // 1.1 -> 2
    [9n, 10, 10n], // 9.9 -> 10
    [10n, 10, 11n],
    [1_000_000_000n, 10, 1_100_000_000n],
    [1n, 0, 1n],
    [3n, 33, 4n], // 3.99 -> 4
    [7n, 100, 14n],
    [100n, 10n, 110n],
  ])('raiseByPercent(%s, %s) = %s', (x, pct, want) => {
    expect(raiseByPercent(x, pct)).toBe(want)
  })

  it('is the least integer at least pct% above x', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 1n << 200n }), fc.integer({ min: 0, max: 1000 }), (x, p) => {
        const r = raiseByPercent(x, p)
        const exact = x * BigInt(100 + p)
        expect(r * 100n >= exact).toBe(true)
        expect((r - 1n) * 100n < exact).toBe(true)
      }),
    )
  })

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects percent %s', (pct) => {
    expect(() => raiseByPercent(100n, pct)).toThrow(RangeError)
  })

  it('rejects negative amounts', () => {
    expect(() => raiseByPercent(-1n, 10)).toThrow(RangeError)
  })
})

describe('addOverheadPercent (floor)', () => {
  it.each([
    [100n, 27, 127n],
    [99n, 27, 125n], // 125.73 -> 125
    [1n, 10, 1n], // 1.1 -> 1
    [0n, 27, 0n],
  ])('addOverheadPercent(%s, %s) = %s', (x, pct, want) => {
    expect(addOverheadPercent(x, pct)).toBe(want)
  })
})

describe('bundleFees', () => {
  it.each([
    {
      name: 'plain overheads',
      input: { baseFee: 100n, priorityFee: 10n, baseFeeOverheadPercent: 27, priorityFeeOverheadPercent: 0 },
      want: { maxFeePerGas: 137n, maxPriorityFeePerGas: 10n },
    },
    {
      name: 'both overheads round down',
      input: {
        baseFee: 1_000_000_001n,
        priorityFee: 3n,
        baseFeeOverheadPercent: 27,
        priorityFeeOverheadPercent: 10,
      },
      // bf = 1270000001.27 -> 1270000001, pf = 3.3 -> 3
      want: { maxFeePerGas: 1_270_000_004n, maxPriorityFeePerGas: 3n },
    },
    {
      name: 'zero tip',
      input: { baseFee: 99n, priorityFee: 0n, baseFeeOverheadPercent: 27, priorityFeeOverheadPercent: 0 },
      want: { maxFeePerGas: 125n, maxPriorityFeePerGas: 0n },
    },
    {
      name: 'floor above both',
      input: {
        baseFee: 100n,
        priorityFee: 10n,
        baseFeeOverheadPercent: 0,
        priorityFeeOverheadPercent: 0,
        floor: { maxFeePerGas: 200n, maxPriorityFeePerGas: 50n },
      },
      want: { maxFeePerGas: 200n, maxPriorityFeePerGas: 50n },
    },
    {
      name: 'floor below both',
      input: {
        baseFee: 100n,
        priorityFee: 10n,
        baseFeeOverheadPercent: 0,
        priorityFeeOverheadPercent: 0,
        floor: { maxFeePerGas: 50n, maxPriorityFeePerGas: 5n },
      },
      want: { maxFeePerGas: 110n, maxPriorityFeePerGas: 10n },
    },
    {
      name: 'floor tip raises maxFee past the floor maxFee',
      input: {
        baseFee: 100n,
        priorityFee: 10n,
        baseFeeOverheadPercent: 0,
        priorityFeeOverheadPercent: 0,
        floor: { maxFeePerGas: 120n, maxPriorityFeePerGas: 30n },
      },
      want: { maxFeePerGas: 130n, maxPriorityFeePerGas: 30n },
    },
  ])('$name', ({ input, want }) => {
    expect(bundleFees(input)).toEqual(want)
  })

  it('never offers less than the floor and always covers baseFee + tip', () => {
    const amount = fc.bigInt({ min: 0n, max: 10n ** 15n })
    fc.assert(
      fc.property(amount, amount, amount, amount, fc.nat(200), fc.nat(200), (bf, pf, fMax, fPrio, ob, op) => {
        const floor = { maxFeePerGas: fMax, maxPriorityFeePerGas: fPrio }
        const f = bundleFees({
          baseFee: bf,
          priorityFee: pf,
          baseFeeOverheadPercent: ob,
          priorityFeeOverheadPercent: op,
          floor,
        })
        expect(f.maxFeePerGas >= fMax).toBe(true)
        expect(f.maxPriorityFeePerGas >= fPrio).toBe(true)
        expect(f.maxFeePerGas >= bf + f.maxPriorityFeePerGas).toBe(true)
        expect(effectiveTip(f, bf)).toBe(f.maxPriorityFeePerGas)
      }),
    )
  })
})

describe('replacementFloor', () => {
  it.each([
    [
      { maxFeePerGas: 137n, maxPriorityFeePerGas: 10n },
      10,
      { maxFeePerGas: 151n, maxPriorityFeePerGas: 11n },
    ],
    [
      { maxFeePerGas: 1_000_000_001n, maxPriorityFeePerGas: 1n },
      10,
      { maxFeePerGas: 1_100_000_002n, maxPriorityFeePerGas: 2n },
    ],
    [{ maxFeePerGas: 0n, maxPriorityFeePerGas: 0n }, 10, { maxFeePerGas: 0n, maxPriorityFeePerGas: 0n }],
  ])('replacementFloor(%o, %s) = %o', (last, pct, want) => {
    expect(replacementFloor(last, pct)).toEqual(want)
  })

  it('feeding the floor to bundleFees raises both fields by at least the percentage', () => {
    const last = { maxFeePerGas: 137n, maxPriorityFeePerGas: 10n }
    const next = bundleFees({
      baseFee: 100n,
      priorityFee: 10n,
      baseFeeOverheadPercent: 27,
      priorityFeeOverheadPercent: 0,
      floor: replacementFloor(last, 10),
    })
    expect(next).toEqual({ maxFeePerGas: 151n, maxPriorityFeePerGas: 11n })
  })
})

describe('requiredOpFees', () => {
  it.each([
    ['priority_fee_increase_percent', 0, 10n, 100n, 10n, 110n],
    ['priority_fee_increase_percent', 10, 15n, 100n, 17n, 117n], // 16.5 -> 17
    ['priority_fee_increase_percent', 10, 10n, 100n, 11n, 111n],
    ['priority_fee_increase_percent', 10, 0n, 7n, 0n, 7n],
    ['base_fee_percent', 10, 999n, 1005n, 101n, 1106n], // 100.5 -> 101, bundle tip ignored
    ['base_fee_percent', 0, 999n, 100n, 0n, 100n],
    ['base_fee_percent', 50, 0n, 7n, 4n, 11n], // 3.5 -> 4
  ] as const)(
    '%s %s, bundle tip %s, base fee %s -> tip %s, maxFee %s',
    (kind, value, tip, baseFee, wantTip, wantMax) => {
      expect(requiredOpFees({ kind, value }, { maxPriorityFeePerGas: tip }, baseFee)).toEqual({
        minPriorityFeePerGas: wantTip,
        minMaxFeePerGas: wantMax,
      })
    },
  )

  it('rejects a fractional or negative mode value', () => {
    const bundle = { maxPriorityFeePerGas: 1n }
    expect(() => requiredOpFees({ kind: 'base_fee_percent', value: 1.5 }, bundle, 1n)).toThrow(RangeError)
    expect(() => requiredOpFees({ kind: 'priority_fee_increase_percent', value: -1 }, bundle, 1n)).toThrow(
      RangeError,
    )
  })
})

describe('effectiveTip', () => {
  it.each([
    [150n, 10n, 100n, 10n], // tip-limited
    [105n, 10n, 100n, 5n], // maxFee-limited
    [100n, 0n, 100n, 0n],
    [90n, 10n, 100n, -10n], // cannot pay the base fee
  ])(
    'maxFee %s, maxPriority %s at base fee %s -> %s',
    (maxFeePerGas, maxPriorityFeePerGas, baseFee, want) => {
      expect(effectiveTip({ maxFeePerGas, maxPriorityFeePerGas }, baseFee)).toBe(want)
    },
  )
})
