import { type Address, getAddress, toHex } from 'viem'
import { maxBig, minBig } from './bigmath.js'

/** ERC-4337 validationData: `aggregator (160 bits) | validUntil (48) << 160 | validAfter (48) << 208`. */
export interface ValidationData {
  /** address(0): valid signature; address(1): signature failed; anything else: an aggregator. */
  aggregator: Address
  sigFailed: boolean
  /** Unix seconds; 0 means no expiry (the EntryPoint reads 0 as type(uint48).max). */
  validUntil: bigint
  validAfter: bigint
}

export const SIG_VALIDATION_FAILED_ADDRESS: Address = '0x0000000000000000000000000000000000000001'
export const ZERO_ADDRESS: Address = '0x0000000000000000000000000000000000000000'
const U48_MASK = (1n << 48n) - 1n
const U160_MASK = (1n << 160n) - 1n

export function parseValidationData(data: bigint): ValidationData {
  const agg = data & U160_MASK
  return {
    aggregator: getAddress(toHex(agg, { size: 20 })),
    sigFailed: agg === 1n,
    validUntil: (data >> 160n) & U48_MASK,
    validAfter: (data >> 208n) & U48_MASK,
  }
}

/** True when the aggregator field names a real aggregator (neither 0 nor the sig-failed marker 1). */
export function hasAggregator(v: ValidationData): boolean {
  return v.aggregator !== ZERO_ADDRESS && !v.sigFailed
}

/** The intersection of two time ranges: latest validAfter, earliest validUntil (0 = no expiry). */
export function intersectTimeRanges(
  a: Pick<ValidationData, 'validAfter' | 'validUntil'>,
  b: Pick<ValidationData, 'validAfter' | 'validUntil'>,
): { validAfter: bigint; validUntil: bigint } {
  const validAfter = maxBig(a.validAfter, b.validAfter)
  let validUntil: bigint
  if (a.validUntil === 0n) validUntil = b.validUntil
  else if (b.validUntil === 0n) validUntil = a.validUntil
  else validUntil = minBig(a.validUntil, b.validUntil)
  return { validAfter, validUntil }
}
