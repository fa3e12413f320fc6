import type { PublicClient } from 'viem'
import type { ChainSpec } from './chain-spec.js'

/**
 * Where the priority fee estimate comes from:
 * - node:        `eth_maxPriorityFeePerGas`
 * - fee_history: the median, over the last `blockCount` non-empty blocks, of each block's
 *                `percentile`-th effective tip from `eth_feeHistory`
 * - floor:       nothing but the floor (chains whose node hard-codes the tip or ignores it)
 * The floor (`minPriorityFeePerGas`) applies to every source.
 */
export type PriorityFeeSource =
  | { kind: 'node' }
  | { kind: 'fee_history'; percentile: number; blockCount?: number }
  | { kind: 'floor' }

export interface FeeEstimatorOptions {
  client: Pick<PublicClient, 'getFeeHistory' | 'request'>
  chainSpec: ChainSpec
  /** Default: by the chain spec's `priorityFeeOracle` (see `sourceFor`). */
  source?: PriorityFeeSource
  /** Configured floor for the priority fee; default the chain spec's `minPriorityFeePerGas`. */
  minPriorityFeePerGas?: bigint
}

export interface FeeEstimate {
  /** Base fee of the next block. */
  baseFee: bigint
  /** Priority fee to offer, never below the floor. */
  priorityFee: bigint
  /** The latest block the estimate was made at. */
  blockNumber: bigint
}

const DEFAULT_HISTORY_BLOCKS = 10
/** The usage-based source: the median tip of recent blocks (their 50th-percentile tip). */
const USAGE_PERCENTILE = 50

/**
 * The chain spec's priority-fee oracle as a source: `provider` asks the node; `usage_based` reads
 * what recent blocks paid (OP-stack nodes answer eth_maxPriorityFeePerGas with a constant, Polygon's
 * is under its minimum tip); `none` offers only the floor (Arbitrum ignores tips).
 */
export function sourceFor(spec: Pick<ChainSpec, 'priorityFeeOracle'>): PriorityFeeSource {
  switch (spec.priorityFeeOracle) {
    case 'provider':
      return { kind: 'node' }
    case 'usage_based':
      return { kind: 'fee_history', percentile: USAGE_PERCENTILE, blockCount: DEFAULT_HISTORY_BLOCKS }
    default:
      return { kind: 'floor' }
  }
}
const MAX_HISTORY_BLOCKS = 1024 // nodes cap eth_feeHistory's block count (geth: 1024)

export class FeeEstimator {
  readonly source: PriorityFeeSource
  readonly minPriorityFeePerGas: bigint
  private readonly client: FeeEstimatorOptions['client']

  constructor(opts: FeeEstimatorOptions) {
    this.client = opts.client
    this.source = opts.source ?? sourceFor(opts.chainSpec)
    this.minPriorityFeePerGas = opts.minPriorityFeePerGas ?? opts.chainSpec.minPriorityFeePerGas
    if (this.minPriorityFeePerGas < 0n) throw new RangeError('minPriorityFeePerGas must be >= 0')
    if (this.source.kind === 'fee_history') {
      const { percentile, blockCount = DEFAULT_HISTORY_BLOCKS } = this.source
      if (!(percentile >= 0 && percentile <= 100)) {
        throw new RangeError(`fee history percentile must be within 0..100, got ${percentile}`)
      }
      if (!Number.isInteger(blockCount) || blockCount < 1 || blockCount > MAX_HISTORY_BLOCKS) {
        throw new RangeError(`fee history block count must be 1..${MAX_HISTORY_BLOCKS}, got ${blockCount}`)
      }
    }
  }

  /** The next block's base fee: eth_feeHistory's last `baseFeePerGas` element. */
  async nextBaseFee(): Promise<bigint> {
    return (await this.history(1, undefined)).baseFee
  }

  async estimate(): Promise<FeeEstimate> {
    const source = this.source
    if (source.kind === 'fee_history') {
      const h = await this.history(source.blockCount ?? DEFAULT_HISTORY_BLOCKS, source.percentile)
      return { baseFee: h.baseFee, priorityFee: this.floored(h.tip), blockNumber: h.blockNumber }
    }
    const [h, nodeTip] = await Promise.all([
      this.history(1, undefined),
      source.kind === 'node' ? this.nodePriorityFee() : Promise.resolve(0n),
    ])
    return { baseFee: h.baseFee, priorityFee: this.floored(nodeTip), blockNumber: h.blockNumber }
  }

  private floored(tip: bigint): bigint {
    return tip > this.minPriorityFeePerGas ? tip : this.minPriorityFeePerGas
  }

  private async nodePriorityFee(): Promise<bigint> {
    const hex = await this.client.request({ method: 'eth_maxPriorityFeePerGas' })
    return BigInt(hex)
  }

  private async history(
    blockCount: number,
    percentile: number | undefined,
  ): Promise<{ baseFee: bigint; blockNumber: bigint; tip: bigint }> {
    const h = await this.client.getFeeHistory({
      blockCount,
      blockTag: 'latest',
      rewardPercentiles: percentile === undefined ? [] : [percentile],
    })
    const baseFee = h.baseFeePerGas.at(-1)
    if (baseFee === undefined || h.gasUsedRatio.length === 0) {
      throw new Error('eth_feeHistory returned no base fee (pre-London chain or empty history)')
    }
    // baseFeePerGas has one element more than the blocks it covers: the next block's.
    const blockNumber = h.oldestBlock + BigInt(h.gasUsedRatio.length) - 1n
    return { baseFee, blockNumber, tip: percentile === undefined ? 0n : historyTip(h) }
  }
}

/**
 * The median of the per-block rewards, skipping empty blocks (their reward is 0 and says nothing
 * about what it takes to get in). With no non-empty block the tip is 0 and the floor decides.
 */
export function historyTip(h: { gasUsedRatio: number[]; reward?: bigint[][] }): bigint {
  const tips: bigint[] = []
  h.gasUsedRatio.forEach((ratio, i) => {
    const r = h.reward?.[i]?.[0]
    if (ratio > 0 && r !== undefined) tips.push(r)
  })
  if (tips.length === 0) return 0n
  tips.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  return tips[Math.floor(tips.length / 2)]! // upper median: never below the typical block's tip
}
