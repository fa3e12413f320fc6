/**
 * Fee-pair helpers for the sender machine. Integer math only; the percent raise is the project's
 * one rule from src/chain/fee-math.ts (rounds UP), so a replacement always clears a node's
 * "+N% on both fields" check.
 */
import { raiseByPercent, replacementFloor } from '../../chain/fee-math.js'
import type { Fees } from './types.js'

/** ceil(x · (100 + pct) / 100). */
export function raisePercentCeil(x: bigint, pct: number): bigint {
  return raiseByPercent(x, pct)
}

/** Both fields raised by `pct` percent, rounding up. */
export function raiseFees(f: Fees, pct: number): Fees {
  return replacementFloor(f, pct)
}

function bigMax(a: bigint, b: bigint): bigint {
  if (a >= b) return a
  return b
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

/**
 * Fees lifted to the floor, keeping maxFee ≥ maxPriority (a node rejects a tip above the cap).
 */
export function liftToFloor(f: Fees, floor: Fees | undefined): Fees {
  const m = maxFees(f, floor)
  return m.maxFeePerGas >= m.maxPriorityFeePerGas ? m : { ...m, maxFeePerGas: m.maxPriorityFeePerGas }
}
