/**
 * Pure fee arithmetic for bundles and user operations. Integers only (bigint wei); percentages are
 * whole numbers. Rounding is part of the contract:
 * - overheads on estimates (`bundleFees`) round DOWN, as the reference formula's integer division;
 * - anything that is a REQUIRED minimum (replacement floors, the fees an op must pay) rounds UP, so
 *   "x >= a·p/100" holds exactly for the integer we compute.
 */

export interface Fees {
  maxFeePerGas: bigint
  maxPriorityFeePerGas: bigint
}

/** A whole, non-negative percentage as bigint; anything else is a configuration error. */
function percent(pct: number | bigint, what: string): bigint {
  if (typeof pct === 'bigint') {
    if (pct < 0n) throw new RangeError(`${what} must be >= 0, got ${pct}`)
    return pct
  }
  if (!Number.isSafeInteger(pct) || pct < 0) {
    throw new RangeError(`${what} must be a non-negative whole number, got ${pct}`)
  }
  return BigInt(pct)
}

function nonNegative(x: bigint, what: string): void {
  if (x < 0n) throw new RangeError(`${what} must be >= 0, got ${x}`)
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b
}

const max = (a: bigint, b: bigint): bigint => (a > b ? a : b)
const min = (a: bigint, b: bigint): bigint => (a < b ? a : b)

/** x·(100+pct)/100 rounded UP: the least value that is at least pct% above x. */
export function raiseByPercent(x: bigint, pct: number | bigint): bigint {
  nonNegative(x, 'amount')
  return ceilDiv(x * (100n + percent(pct, 'percent')), 100n)
}

/** x·(100+pct)/100 rounded DOWN: an overhead added to an estimate. */
export function addOverheadPercent(x: bigint, pct: number | bigint): bigint {
  nonNegative(x, 'amount')
  return (x * (100n + percent(pct, 'overhead percent'))) / 100n
}

export interface BundleFeeInput {
  baseFee: bigint
  priorityFee: bigint
  baseFeeOverheadPercent: number | bigint
  priorityFeeOverheadPercent: number | bigint
  /** The least fees allowed, e.g. `replacementFloor` of the fees last sent at this nonce. */
  floor?: Fees
}

/**
 * The fees a bundle transaction offers:
 * bf = baseFee·(100+o_b)/100, pf = prio·(100+o_p)/100,
 * maxPriority = max(floor.maxPriority, pf), maxFee = max(floor.maxFee, bf + maxPriority).
 */
export function bundleFees(input: BundleFeeInput): Fees {
  nonNegative(input.baseFee, 'baseFee')
  nonNegative(input.priorityFee, 'priorityFee')
  const bf = addOverheadPercent(input.baseFee, input.baseFeeOverheadPercent)
  const pf = addOverheadPercent(input.priorityFee, input.priorityFeeOverheadPercent)
  const maxPriorityFeePerGas = max(input.floor?.maxPriorityFeePerGas ?? 0n, pf)
  const maxFeePerGas = max(input.floor?.maxFeePerGas ?? 0n, bf + maxPriorityFeePerGas)
  return { maxFeePerGas, maxPriorityFeePerGas }
}

/** The least fees a replacement of `last` may carry: both fields raised by pct%, rounding up. */
export function replacementFloor(last: Fees, pct: number | bigint): Fees {
  return {
    maxFeePerGas: raiseByPercent(last.maxFeePerGas, pct),
    maxPriorityFeePerGas: raiseByPercent(last.maxPriorityFeePerGas, pct),
  }
}

export type PriorityFeeModeKind = 'priority_fee_increase_percent' | 'base_fee_percent'
export interface PriorityFeeMode {
  kind: PriorityFeeModeKind
  value: number
}

export interface RequiredOpFees {
  minPriorityFeePerGas: bigint
  minMaxFeePerGas: bigint
}

/**
 * What a user operation must offer to be bundled (Rundler's priority fee modes):
 * - priority_fee_increase_percent N: tip ≥ bundleTip·(100+N)/100
 * - base_fee_percent N: tip ≥ baseFee·N/100
 * and in both, maxFee ≥ baseFee + required tip. Required values round up.
 */
export function requiredOpFees(
  mode: PriorityFeeMode,
  bundle: { maxPriorityFeePerGas: bigint },
  baseFee: bigint,
): RequiredOpFees {
  nonNegative(baseFee, 'baseFee')
  const n = percent(mode.value, `priority fee mode value (${mode.kind})`)
  let minPriorityFeePerGas: bigint
  switch (mode.kind) {
    case 'priority_fee_increase_percent':
      nonNegative(bundle.maxPriorityFeePerGas, 'bundle maxPriorityFeePerGas')
      minPriorityFeePerGas = ceilDiv(bundle.maxPriorityFeePerGas * (100n + n), 100n)
      break
    case 'base_fee_percent':
      minPriorityFeePerGas = ceilDiv(baseFee * n, 100n)
      break
    default: {
      const never: never = mode.kind
      throw new RangeError(`unknown priority fee mode ${String(never)}`)
    }
  }
  return { minPriorityFeePerGas, minMaxFeePerGas: baseFee + minPriorityFeePerGas }
}

/**
 * The tip an op (or transaction) actually pays per gas at `baseFee`: min(maxPriority, maxFee − baseFee).
 * Negative means it cannot even pay the base fee.
 */
export function effectiveTip(fees: Fees, baseFee: bigint): bigint {
  return min(fees.maxPriorityFeePerGas, fees.maxFeePerGas - baseFee)
}
