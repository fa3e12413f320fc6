import type { Registry } from 'prom-client'
import type { Address, PublicClient } from 'viem'
import type { Builder } from '../builder/builder.js'
import type { ChainSpec } from '../chain/chain-spec.js'
import { FeeEstimator } from '../chain/fees.js'
import type { Config } from '../config/index.js'
import type { Pool, PoolDebug, PoolQuery } from '../pool/types.js'
import { checkHealth } from '../rpc/health.js'
import type { Logger } from '../util/log.js'
import { HeadWatch } from './head-watch.js'
import { PoolWatch } from './pool-watch.js'
import type { SenderJournal } from './sender-journal.js'
import { type AdminServer, startAdminServer } from './server.js'
import { registerRelayMetrics, relayOf, takeSnapshot } from './status.js'

export { SenderJournal } from './sender-journal.js'

export interface AdminDeps {
  config: Config
  version: string
  chainId: number
  chainSpec: ChainSpec
  client: PublicClient
  pool: Pool & PoolQuery & PoolDebug
  /** The bundle senders; none in a `conveyor rpc` process (its page and metrics show no senders). */
  builder?: Builder
  journal: SenderJournal
  registry: Registry
  logger: Logger
}

export interface Admin {
  readonly url: string
  stop(): Promise<void>
}

/**
 * The metrics and admin server with what it watches: the chain head and fees (from the pool's new
 * heads), the pool (debug queries), the senders (their status journal) and the relay fallback.
 */
export async function startAdmin(d: AdminDeps): Promise<Admin> {
  const cfg = d.config
  const head = new HeadWatch({
    pool: d.pool,
    client: d.client,
    fees: new FeeEstimator({ client: d.client, chainSpec: d.chainSpec }),
    feeSettings: {
      baseFeeOverheadPercent: cfg.bundle_base_fee_overhead_percent,
      priorityFeeOverheadPercent: cfg.bundle_priority_fee_overhead_percent,
      mode: { kind: cfg.priority_fee_mode_kind, value: cfg.priority_fee_mode_value },
    },
    registry: d.registry,
    logger: d.logger,
  })
  head.start()
  const pools = new PoolWatch({
    pool: d.pool,
    entryPoints: cfg.entry_points as Address[],
    baseFee: () => head.fees?.baseFee,
    registry: d.registry,
  })
  const relay = relayOf(d.builder?.submitter)
  if (d.builder) registerRelayMetrics(d.registry, relay)
  let server: AdminServer
  try {
    server = await startAdminServer({
      host: cfg.metrics.host,
      port: cfg.metrics.port,
      registry: d.registry,
      logger: d.logger,
      health: () => checkHealth({ client: d.client, pool: d.pool, timeoutMs: 2000 }),
      status: () =>
        takeSnapshot({
          version: d.version,
          chainId: d.chainId,
          journal: d.journal,
          pools,
          head,
          relay,
          settings: {
            maxBlocksToWaitForMine: cfg.max_blocks_to_wait_for_mine,
            maxReplacementUnderpricedBlocks: cfg.max_replacement_underpriced_blocks,
            unsafe: cfg.unsafe,
          },
        }),
    })
  } catch (err) {
    await head.stop()
    throw err
  }
  return {
    url: server.url,
    async stop() {
      await server.close()
      await head.stop()
    },
  }
}
