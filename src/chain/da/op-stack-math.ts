import type { Hex } from 'viem'
import { calldataCost } from '../gas.js'

/**
 * The OP-stack GasPriceOracle's L1 fee formulas (Ecotone and Fjord), as pure functions, so the
 * figures Conveyor relies on can be checked against the published formulas and the contract.
 * Values are the L1Block's: the L1 base fee and blob base fee (wei) and their scalars (6 decimals).
 */
export interface L1FeeParams {
  l1BaseFee: bigint
  blobBaseFee: bigint
  baseFeeScalar: bigint
  blobBaseFeeScalar: bigint
}

const DECIMALS = 6n
/** Fjord's linear regression from a FastLZ size to an estimated Brotli size (scaled by 1e6). */
export const FJORD_COST_INTERCEPT = -42_585_600n
export const FJORD_FASTLZ_COEF = 836_500n
export const FJORD_MIN_TRANSACTION_SIZE = 100n
/** The signature a signed transaction adds to the unsigned one the formulas are given. */
export const SIGNATURE_BYTES = 68n

/** Ecotone: (calldata gas + 68·16) · (16·baseFeeScalar·l1BaseFee + blobBaseFeeScalar·blobBaseFee) / 16e6. */
export function ecotoneL1Fee(unsignedTx: Hex, p: L1FeeParams): bigint {
  const l1GasUsed = calldataCost(unsignedTx).gas + SIGNATURE_BYTES * 16n
  return (l1GasUsed * scaledPrice(p)) / (16n * 10n ** DECIMALS)
}

/** Fjord: max(100e6, −42,585,600 + 836,500·fastLzSize) · scaled price / 1e12. */
export function fjordL1Cost(fastLzSize: bigint, p: L1FeeParams): bigint {
  let estimated = FJORD_COST_INTERCEPT + FJORD_FASTLZ_COEF * fastLzSize
  const floor = FJORD_MIN_TRANSACTION_SIZE * 10n ** DECIMALS
  if (estimated < floor) estimated = floor
  return (estimated * scaledPrice(p)) / 10n ** (DECIMALS * 2n)
}

/** getL1FeeUpperBound's size: the unsigned size plus the signature, plus FastLZ's worst case (1/255 + 16). */
export function fjordUpperBoundSize(unsignedTxSize: bigint): bigint {
  const txSize = unsignedTxSize + SIGNATURE_BYTES
  return txSize + txSize / 255n + 16n
}

/** getL1FeeUpperBound(unsignedTxSize) after Fjord. */
export function fjordL1FeeUpperBound(unsignedTxSize: bigint, p: L1FeeParams): bigint {
  return fjordL1Cost(fjordUpperBoundSize(unsignedTxSize), p)
}

function scaledPrice(p: L1FeeParams): bigint {
  return p.baseFeeScalar * 16n * p.l1BaseFee + p.blobBaseFeeScalar * p.blobBaseFee
}
