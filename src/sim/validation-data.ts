import type { Address } from 'viem'
import type { ValidationData } from '../chain/entrypoint/types.js'
import { parseTimeValidationData } from '../chain/entrypoint/validity.js'
import { maxBig, minBig } from './bigmath.js'

export type { ValidationData }

export const SIG_VALIDATION_FAILED_ADDRESS: Address = '0x0000000000000000000000000000000000000001'
export const ZERO_ADDRESS: Address = '0x0000000000000000000000000000000000000000'

/** validationData in timestamps (v0.6–v0.8); each version's reading is its module's parseValidationData. */
export const parseValidationData = parseTimeValidationData

/** True when the aggregator field names a real aggregator (neither 0 nor the sig-failed marker 1). */
export function hasAggregator(v: ValidationData): boolean {
  return v.aggregator !== ZERO_ADDRESS && !v.sigFailed
}

/** The intersection of two time ranges: latest validAfter, earliest validUntil (0 = no expiry). */
export function intersectTimeRanges(
  a: Pick<ValidationData, 'validAfter' | 'validUntil'>,
  b: Pick<ValidationData, 'validAfter' | 'validUntil'>,
): { validAfter: bigint; validUntil: bigint } {
  // Block ranges intersect the same way: latest start, earliest end, 0 as "no end".
  const validAfter = maxBig(a.validAfter, b.validAfter)
  let validUntil: bigint
  if (a.validUntil === 0n) validUntil = b.validUntil
  else if (b.validUntil === 0n) validUntil = a.validUntil
  else validUntil = minBig(a.validUntil, b.validUntil)
  return { validAfter, validUntil }
}
