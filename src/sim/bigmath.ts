/** min/max for bigint (Math.min/max throw on bigints). */
export function maxBig(a: bigint, b: bigint): bigint {
  if (a > b) return a
  return b
}

export function minBig(a: bigint, b: bigint): bigint {
  if (a < b) return a
  return b
}
