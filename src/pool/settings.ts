import type { Address } from 'viem'

/** ERC-7562 reputation parameters (bundler defaults; a relaying-only client would use 100 for the denominator). */
export interface ReputationSettings {
  minInclusionRateDenominator: number
  throttlingSlack: number
  banSlack: number
  /** UREP-020: base number of mempool ops an unstaked paymaster/factory/aggregator may have. */
  sameUnstakedEntityMempoolCount: number
  inclusionRateFactor: number
  maxOpsAllowedUnstakedEntity: number
  /** SREP-050: a staked entity that invalidates a bundle gets opsSeen set to this (a ban). */
  banOpsSeenPenalty: number
  /** UREP-030: added to opsSeen of an unstaked entity that invalidates a bundle. */
  unstakedInvalidationOpsSeenPenalty: number
  /** Ops referencing a throttled entity that may sit in the mempool at once. */
  throttledEntityMempoolCount: number
  /** Blocks an op referencing a throttled entity may stay in the mempool. */
  throttledEntityLiveBlocks: number
  /** opsSeen and opsIncluded are multiplied by 23/24 this often (ERC-7562: hourly). */
  decayIntervalMs: number
  /** Addresses always OK and exempt from unstaked limits. */
  allowlist: Address[]
  /** Addresses always BANNED. */
  blocklist: Address[]
}

export interface PoolSettings {
  chainId: number
  /** Shards for parallel bundle senders: an op belongs to shard uint256(sender) mod numShards. */
  numShards: number
  /** Pool size cap across one EntryPoint's mempool; the lowest-paying op is evicted beyond it. */
  maxPoolOps: number
  /** A replacement of (sender, nonce) must raise both fee fields by this percent (rounded up). */
  replacementFeePercentIncrease: number
  /** SAME_SENDER_MEMPOOL_COUNT for unstaked senders. */
  maxOpsPerUnstakedSender: number
  maxOpsPerStakedSender: number
  /** Blocks a mined op is remembered, so a reorg of that depth returns it to the pool. */
  chainHistoryBlocks: number
  /** Stake an entity needs to count as staked (getStakeStatus). */
  minStakeValue: bigint
  minUnstakeDelaySec: bigint
  /** Poll interval of the BlockWatcher the pool starts (when no block source is injected). */
  blockPollIntervalMs: number
  reputation: ReputationSettings
}

export const DEFAULT_REPUTATION_SETTINGS: ReputationSettings = {
  minInclusionRateDenominator: 10,
  throttlingSlack: 10,
  banSlack: 50,
  sameUnstakedEntityMempoolCount: 10,
  inclusionRateFactor: 10,
  maxOpsAllowedUnstakedEntity: 10_000,
  banOpsSeenPenalty: 10_000,
  unstakedInvalidationOpsSeenPenalty: 1_000,
  throttledEntityMempoolCount: 4,
  throttledEntityLiveBlocks: 10,
  decayIntervalMs: 3_600_000,
  allowlist: [],
  blocklist: [],
}

export type PoolSettingsInput = Partial<Omit<PoolSettings, 'reputation'>> & {
  chainId: number
  reputation?: Partial<ReputationSettings>
}

export function poolSettings(input: PoolSettingsInput): PoolSettings {
  const s: PoolSettings = {
    numShards: 1,
    maxPoolOps: 200_000,
    replacementFeePercentIncrease: 10,
    maxOpsPerUnstakedSender: 4,
    maxOpsPerStakedSender: 128,
    chainHistoryBlocks: 64,
    minStakeValue: 10n ** 18n,
    minUnstakeDelaySec: 86_400n,
    blockPollIntervalMs: 1_000,
    ...input,
    reputation: { ...DEFAULT_REPUTATION_SETTINGS, ...input.reputation },
  }
  if (!Number.isSafeInteger(s.numShards) || s.numShards < 1) {
    throw new RangeError(`numShards must be a positive integer, got ${s.numShards}`)
  }
  if (!Number.isSafeInteger(s.maxPoolOps) || s.maxPoolOps < 1) {
    throw new RangeError(`maxPoolOps must be a positive integer, got ${s.maxPoolOps}`)
  }
  if (s.chainHistoryBlocks < 1) throw new RangeError('chainHistoryBlocks must be at least 1')
  return s
}
