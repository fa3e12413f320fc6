import type { ChainSpec } from '../chain/chain-spec.js'
import type { DaGas } from '../chain/da/da-gas.js'

/**
 * What admission validation enforces. Names follow Rundler's options where it has one
 * (`max_verification_gas`, `min_stake_value`, `min_unstake_delay`, `base_fee_accept_percent`).
 */
export interface SimSettings {
  chainSpec: ChainSpec
  /** verificationGasLimit (+ paymasterVerificationGasLimit) above this is refused. Rundler: 5,000,000. */
  maxVerificationGas: bigint
  /**
   * opMaxGas above this is refused. Undefined: derived from the chain, 90% of
   * min(block gas limit, per-transaction cap) less bundle overheads (an op that can never fit a bundle).
   */
  maxOpGas?: bigint
  /** maxFeePerGas must be at least this percentage of the current base fee. Rundler: 50. */
  baseFeeAcceptPercent: bigint
  /** maxPriorityFeePerGas floor (wei). */
  minPriorityFeePerGas: bigint
  /** An entity is "staked" with at least this stake (wei) ... Rundler: 1 ETH. */
  minStakeValue: bigint
  /** ... and at least this unstake delay (seconds). Rundler: 84600. */
  minUnstakeDelaySec: bigint
  /** An op whose validUntil falls within this many seconds from now is refused (ERC-7562: 30 s). */
  validUntilMarginSec: bigint
  /**
   * v0.9 block ranges: an op whose validUntilBlock is less than this many blocks after the next
   * block is refused, so a bundle that waits a block or two still lands inside the range.
   */
  validUntilMarginBlocks: bigint
  /** Aggregators this bundler serves (`--aggregators`); ops naming any other are refused. None by default. */
  supportedAggregators: readonly string[]
  /** On an L2 whose spec puts the L1 data fee in preVerificationGas: its oracle, cached per block. */
  daGas?: DaGas
}

export function defaultSimSettings(chainSpec: ChainSpec, over: Partial<SimSettings> = {}): SimSettings {
  return {
    chainSpec,
    maxVerificationGas: 5_000_000n,
    baseFeeAcceptPercent: 50n,
    minPriorityFeePerGas: chainSpec.minPriorityFeePerGas,
    minStakeValue: 10n ** 18n,
    minUnstakeDelaySec: 84_600n,
    validUntilMarginSec: 30n,
    validUntilMarginBlocks: 2n,
    supportedAggregators: [],
    ...over,
  }
}
