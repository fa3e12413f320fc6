import { getAddress, toHex } from 'viem'
import type { ValidationData } from './types.js'

const U48_MASK = (1n << 48n) - 1n
const U160_MASK = (1n << 160n) - 1n
/** v0.9: validAfter and validUntil above this (the top bit of 48) are block numbers. */
const BLOCK_RANGE_FLAG = 0x800000000000n
const BLOCK_RANGE_MASK = 0x7fffffffffffn

/** `aggregator (160 bits) | validUntil (48) << 160 | validAfter (48) << 208`, in timestamps (v0.6–v0.8). */
export function parseTimeValidationData(data: bigint): ValidationData {
  const agg = data & U160_MASK
  return {
    aggregator: getAddress(toHex(agg, { size: 20 })),
    sigFailed: agg === 1n,
    clock: 'timestamp',
    validUntil: (data >> 160n) & U48_MASK,
    validAfter: (data >> 208n) & U48_MASK,
  }
}

/**
 * v0.9: when validAfter and validUntil (a zero validUntil read as "max") both exceed the flag bit,
 * the range is in block numbers, the flag masked off; otherwise it is in timestamps.
 */
export function parseV09ValidationData(data: bigint): ValidationData {
  const time = parseTimeValidationData(data)
  const until = time.validUntil === 0n ? U48_MASK : time.validUntil
  if (time.validAfter <= BLOCK_RANGE_FLAG || until <= BLOCK_RANGE_FLAG) return time
  const untilBlock = until & BLOCK_RANGE_MASK
  return {
    ...time,
    clock: 'block',
    validAfter: time.validAfter & BLOCK_RANGE_MASK,
    // A masked "max" is no expiry, as 0 is for timestamps.
    validUntil: untilBlock === BLOCK_RANGE_MASK ? 0n : untilBlock,
  }
}

/** validationData with a block-number range, as a v0.9 account or paymaster returns it (tests, tools). */
export function packBlockRange(validAfterBlock: bigint, validUntilBlock: bigint, sigFailed = false): bigint {
  return (
    (sigFailed ? 1n : 0n) |
    ((validUntilBlock | BLOCK_RANGE_FLAG) << 160n) |
    ((validAfterBlock | BLOCK_RANGE_FLAG) << 208n)
  )
}
