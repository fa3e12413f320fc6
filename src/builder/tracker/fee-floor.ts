/**
 * The fee floor's arithmetic: field-wise maximum, "meets the floor", and lifting proposed fees to
 * it. Integer math only; the percent raise itself is src/chain/fee-math.ts's `replacementFloor`
 * (rounds up, so a replacement always clears a node's "+N% on both fields" check).
 */
import type { Fees } from '../../chain/fee-math.js'

function bigMax(a: bigint, b: bigint): bigint {
  return a >= b ? a : b
}

/** Field-wise maximum; `b` may be absent. */
export function maxFees(a: Fees, b: Fees | undefined): Fees {
  if (!b) return a
  return {
    maxFeePerGas: bigMax(a.maxFeePerGas, b.maxFeePerGas),
    maxPriorityFeePerGas: bigMax(a.maxPriorityFeePerGas, b.maxPriorityFeePerGas),
  }
}

/** True when both fields of `f` reach `floor` (no floor: always). */
export function meetsFloor(f: Fees, floor: Fees | undefined): boolean {
  return (
    !floor || (f.maxFeePerGas >= floor.maxFeePerGas && f.maxPriorityFeePerGas >= floor.maxPriorityFeePerGas)
  )
}

/** Fees lifted to the floor, keeping maxFee ≥ maxPriority (a node rejects a tip above the cap). */
export function liftToFloor(f: Fees, floor: Fees | undefined): Fees {
  const m = maxFees(f, floor)
  return m.maxFeePerGas >= m.maxPriorityFeePerGas ? m : { ...m, maxFeePerGas: m.maxPriorityFeePerGas }
}
