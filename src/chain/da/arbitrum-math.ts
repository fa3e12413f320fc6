/**
 * Arbitrum Nitro's L1 component, as the NodeInterface's gasEstimateL1Component prices it (Arbitrum's
 * published gas estimation formula): the poster pays the L1 price per byte (the L1 base fee
 * estimate × 16) for the compressed transaction plus a fixed 140 bytes of batch overhead; that cost
 * in L2 gas is it divided by the L2 base fee; estimates are padded by 10 %.
 */
export const ARBITRUM_TX_FIXED_BYTES = 140n
export const ARBITRUM_L1_GAS_PER_BYTE = 16n
/** gasEstimateL1Component pads the poster cost by this much (basis points of 10,000). */
export const ARBITRUM_ESTIMATE_PADDING_BIPS = 11_000n

export interface ArbitrumL1Inputs {
  /** Size of the transaction's data after Brotli compression (the uncompressed size is an upper bound). */
  compressedBytes: bigint
  /** The L1 base fee the chain's pricer currently estimates (wei per L1 gas). */
  l1BaseFeeEstimate: bigint
  /** The L2 base fee (wei per L2 gas). */
  l2BaseFee: bigint
}

/** The L1 poster cost in wei: L1 price per byte × (compressed size + 140 bytes). */
export function arbitrumPosterCost(i: ArbitrumL1Inputs): bigint {
  return i.l1BaseFeeEstimate * ARBITRUM_L1_GAS_PER_BYTE * (i.compressedBytes + ARBITRUM_TX_FIXED_BYTES)
}

/** gasEstimateForL1: the padded poster cost in L2 gas at the L2 base fee. */
export function arbitrumL1Gas(i: ArbitrumL1Inputs): bigint {
  if (i.l2BaseFee <= 0n) throw new RangeError('the L2 base fee must be positive')
  const padded = (arbitrumPosterCost(i) * ARBITRUM_ESTIMATE_PADDING_BIPS) / 10_000n
  return padded / i.l2BaseFee
}
