/**
 * The least value in (lo, hi] for which `passes` holds, to within `tolerance`, assuming `passes` is
 * monotonic and `passes(hi)` holds (the caller has checked it). Returns a value that passed.
 */
export async function searchLeastPassing(
  lo: bigint,
  hi: bigint,
  tolerance: bigint,
  passes: (value: bigint) => Promise<boolean>,
): Promise<{ value: bigint; iterations: number }> {
  let iterations = 0
  const step = tolerance > 0n ? tolerance : 1n
  while (hi - lo > step) {
    const mid = lo + (hi - lo) / 2n
    iterations++
    if (await passes(mid)) hi = mid
    else lo = mid
  }
  return { value: hi, iterations }
}
