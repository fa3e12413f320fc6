import { Gauge, type Registry } from 'prom-client'
import type { PublicClient } from 'viem'
import { bundleFees, type PriorityFeeMode, requiredOpFees } from '../chain/fee-math.js'
import type { FeeEstimator } from '../chain/fees.js'
import type { Pool } from '../pool/types.js'
import type { Logger } from '../util/log.js'

export interface HeadInfo {
  number: bigint
  hash: string
  /** Block timestamp, seconds since epoch. */
  timestamp: bigint
  /** When Conveyor saw it (ms since epoch). */
  seenAt: number
}

/** The fees Conveyor would use now, and what an op must offer to be bundled at them. */
export interface FeeInfo {
  baseFee: bigint
  bundlePriorityFee: bigint
  bundleMaxFee: bigint
  opMinPriorityFee: bigint
  opMinMaxFee: bigint
  blockNumber: bigint
}

export interface HeadWatchOptions {
  pool: Pick<Pool, 'subscribeNewHeads'>
  client: Pick<PublicClient, 'getBlock'>
  fees: Pick<FeeEstimator, 'estimate'>
  feeSettings: { baseFeeOverheadPercent: number; priorityFeeOverheadPercent: number; mode: PriorityFeeMode }
  registry?: Registry
  logger: Logger
  now?: () => number
  /** Fee estimates at most this often (they cost node calls); default 1000 ms. */
  feeIntervalMs?: number
}

const GWEI = 1e9

/**
 * Follows the pool's new heads: the chain head and its age, and the current fee estimate (Rundler's
 * op_pool_current_* gauges, op_pool_chain_block_height, and conveyor_chain_head_age_seconds).
 */
export class HeadWatch {
  head?: HeadInfo
  fees?: FeeInfo
  private readonly now: () => number
  private stopped = false
  private feesAt = 0
  private running?: Promise<void>
  private sub?: AsyncIterator<unknown>

  constructor(private readonly o: HeadWatchOptions) {
    this.now = o.now ?? Date.now
    if (o.registry) this.register(o.registry)
  }

  /** Seconds since the head's timestamp. */
  ageSeconds(): number | undefined {
    return this.head ? Math.max(0, this.now() / 1000 - Number(this.head.timestamp)) : undefined
  }

  start(): void {
    this.running ??= this.run()
  }

  async stop(): Promise<void> {
    this.stopped = true
    await this.sub?.return?.()
    await this.running
  }

  private async run(): Promise<void> {
    const sub = this.o.pool.subscribeNewHeads([])[Symbol.asyncIterator]()
    this.sub = sub
    // A quiet chain may have no new block for a while: start from the latest one.
    await this.onHead(undefined).catch((err) =>
      this.o.logger.debug({ err: String(err) }, 'status: reading the latest block failed'),
    )
    try {
      for (;;) {
        const next = await sub.next()
        if (next.done || this.stopped) return
        await this.onHead(next.value.blockNumber).catch((err) =>
          this.o.logger.debug({ err: String(err) }, 'status: reading the new head failed'),
        )
      }
    } catch (err) {
      if (!this.stopped) this.o.logger.warn({ err: String(err) }, 'status: new-head subscription failed')
    }
  }

  private async onHead(blockNumber: bigint | undefined): Promise<void> {
    const block = await this.o.client.getBlock(
      blockNumber === undefined ? { blockTag: 'latest' } : { blockNumber },
    )
    if (this.head && block.number < this.head.number) return
    this.head = { number: block.number, hash: block.hash, timestamp: block.timestamp, seenAt: this.now() }
    if (this.now() - this.feesAt < (this.o.feeIntervalMs ?? 1000)) return
    this.feesAt = this.now()
    const est = await this.o.fees.estimate()
    const s = this.o.feeSettings
    const bundle = bundleFees({
      baseFee: est.baseFee,
      priorityFee: est.priorityFee,
      baseFeeOverheadPercent: s.baseFeeOverheadPercent,
      priorityFeeOverheadPercent: s.priorityFeeOverheadPercent,
    })
    const op = requiredOpFees(s.mode, bundle, est.baseFee)
    this.fees = {
      baseFee: est.baseFee,
      bundlePriorityFee: bundle.maxPriorityFeePerGas,
      bundleMaxFee: bundle.maxFeePerGas,
      opMinPriorityFee: op.minPriorityFeePerGas,
      opMinMaxFee: op.minMaxFeePerGas,
      blockNumber: est.blockNumber,
    }
  }

  private register(registry: Registry): void {
    const gauge = (name: string, help: string, value: () => number | undefined) =>
      new Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          const v = value()
          if (v === undefined) this.reset()
          else this.set(v)
        },
      })
    gauge('op_pool_chain_block_height', 'The latest block the pool has processed', () =>
      this.head ? Number(this.head.number) : undefined,
    )
    gauge('conveyor_chain_head_age_seconds', "Seconds since the latest block's timestamp", () =>
      this.ageSeconds(),
    )
    gauge('op_pool_current_base_fee', 'Base fee of the next block, in wei', () =>
      this.fees ? Number(this.fees.baseFee) : undefined,
    )
    gauge(
      'op_pool_current_max_priority_fee_gwei',
      'Least priority fee an op must offer to be bundled now, in gwei',
      () => (this.fees ? Number(this.fees.opMinPriorityFee) / GWEI : undefined),
    )
    gauge('op_pool_current_max_fee_gwei', 'Least max fee an op must offer to be bundled now, in gwei', () =>
      this.fees ? Number(this.fees.opMinMaxFee) / GWEI : undefined,
    )
    gauge(
      'conveyor_builder_bundle_priority_fee_gwei',
      'Priority fee a new bundle would offer now, in gwei',
      () => (this.fees ? Number(this.fees.bundlePriorityFee) / GWEI : undefined),
    )
  }
}
