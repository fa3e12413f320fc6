import type { Registry } from 'prom-client'
import { collectDefaultMetrics } from 'prom-client'
import { createPublicClient, type PublicClient } from 'viem'
import { SenderJournal, startAdmin } from './admin/index.js'
import { type Builder, startBuilder } from './builder/builder.js'
import { redactRedisUri } from './builder/signer/redis-lock.js'
import type { ChainSpec } from './chain/chain-spec.js'
import { DaGas } from './chain/da/da-gas.js'
import { l1FeeOracleFor } from './chain/da/oracle.js'
import { nodeTransport } from './chain/node-transport.js'
import { conveyorVersion } from './cli/version.js'
import type { Config } from './config/index.js'
import { createRegistry } from './metrics/registry.js'
import { meterAdmissions, meterTracer, meterValidator } from './metrics/timing.js'
import { LocalPool } from './pool/pool.js'
import { RedisPool } from './pool/redis/redis-pool.js'
import { startRpcServer } from './rpc/server.js'
import { GasEstimatorImpl } from './sim/estimator.js'
import { defaultSimSettings, type SimSettings } from './sim/settings.js'
import { Simulator } from './sim/simulator.js'
import { createValidationMode } from './sim/tracer/mode.js'
import type { Logger } from './util/log.js'

/** What the composition root gets: a validated config and a node that answered. */
export interface AppContext {
  config: Config
  /** The chain's JSON-RPC node (the embedded anvil under `conveyor dev`). */
  nodeUrl: string
  chainId: number
  chainSpec: ChainSpec
  log: Logger
  /** What this process runs (default both): `conveyor rpc` and `conveyor builder` run one each. */
  roles?: { rpc: boolean; builder: boolean }
}

export interface App {
  /** Where the bundler's JSON-RPC server listens. */
  rpcUrl?: string
  /** The metrics and admin server (/metrics, /health, the status page); none with --metrics=false. */
  adminUrl?: string
  registry: Registry
  /** In memory, or in Redis with --pool.redis_uri (shared by every process pointing at it). */
  pool: LocalPool | RedisPool
  /** None under `conveyor rpc`. */
  builder?: Builder
  /** Stops every service started here, in reverse order. Idempotent. */
  stop(): Promise<void>
}

/**
 * The composition root: builds the pool, simulation (safe or unsafe), estimation, the JSON-RPC
 * server and the bundle builder from the config and starts them; `stop()` takes them down in
 * reverse order (builder first, so no bundle is proposed against a stopped pool).
 */
export async function startApp(ctx: AppContext): Promise<App> {
  const { config: cfg, log } = ctx
  const stops: { name: string; stop: () => Promise<void> }[] = []
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) {
      await s.stop().catch((err) => log.error({ err, service: s.name }, 'stopping a service failed'))
    }
  }
  try {
    const registry = createRegistry()
    if (cfg.metrics.enabled) collectDefaultMetrics({ register: registry })
    // The status page and the sender metrics follow every step of every sender's machine.
    const journal = cfg.metrics.enabled ? new SenderJournal(registry) : undefined
    const node = nodeTransport(ctx.nodeUrl, { timeout: 15_000 })
    stops.push({ name: 'node connections', stop: node.close })
    const client = createPublicClient({ transport: node.transport }) as PublicClient

    // An L2's L1 data fee: one oracle and one per-block cache for admission, estimation and bundles.
    // (Rundler's da_pre_verification_gas = false: the chain's L1 fee is not priced at all.)
    const l1Oracle = ctx.chainSpec.da.inPreVerificationGas ? l1FeeOracleFor(ctx.chainSpec, client) : undefined
    const daGas = l1Oracle && new DaGas(l1Oracle, ctx.chainSpec)
    if (daGas)
      log.info({ oracle: ctx.chainSpec.da.oracle, address: ctx.chainSpec.da.address }, 'L1 data fee priced')
    const simSettings = { ...simSettingsFrom(cfg, ctx.chainSpec), daGas }
    // Safe mode (the ERC-7562 tracer and rules) unless --unsafe; a node that cannot trace stops start-up.
    const mode = await createValidationMode({
      unsafe: cfg.unsafe,
      tracer: cfg.sim.tracer,
      replayWorker: cfg.sim.replay_worker,
      chainId: ctx.chainId,
      client,
      logger: log,
      rules: { minStakeValue: cfg.min_stake_value, minUnstakeDelaySec: BigInt(cfg.min_unstake_delay) },
    })
    stops.push({ name: 'validation replays', stop: () => mode.close() })
    const tracer = mode.tracer && meterTracer(mode.tracer, registry)
    const simulator = meterValidator(
      new Simulator({ client, settings: simSettings, ruleChecker: mode.ruleChecker, tracer }),
      registry,
    )
    const poolOptions = {
      settings: {
        chainId: ctx.chainId,
        numShards: cfg.num_signers,
        maxPoolOps: cfg.pool.max_ops,
        replacementFeePercentIncrease: cfg.pool.replacement_fee_percent_increase,
        maxOpsPerUnstakedSender: cfg.pool.max_ops_per_unstaked_sender,
        maxOpsPerStakedSender: cfg.pool.max_ops_per_staked_sender,
        chainHistoryBlocks: cfg.pool.mined_op_retention_blocks,
        minStakeValue: cfg.min_stake_value,
        minUnstakeDelaySec: BigInt(cfg.min_unstake_delay),
        blockPollIntervalMs: blockPollMs(ctx.chainSpec),
        reputation: { allowlist: cfg.pool.allowlist ?? [], blocklist: cfg.pool.blocklist },
      },
      client,
      validator: simulator,
      entryPoints: cfg.entry_points,
      logger: log.child({ part: 'pool' }),
    }
    const pool = cfg.pool.redis_uri
      ? new RedisPool({ ...poolOptions, redisUri: cfg.pool.redis_uri })
      : new LocalPool(poolOptions)
    if (cfg.pool.redis_uri) log.info({ redis: redactRedisUri(cfg.pool.redis_uri) }, 'mempool in Redis')
    stops.push({ name: 'pool', stop: () => pool.stop() }) // before start: a Redis connection to close
    await pool.start()

    const roles = ctx.roles ?? { rpc: true, builder: true }
    const rpc = !roles.rpc
      ? undefined
      : await startRpcServer({
          chainId: ctx.chainId,
          entryPoints: cfg.entry_points,
          pool: meterAdmissions(pool, registry),
          estimator: new GasEstimatorImpl({ client, settings: simSettings }),
          client,
          registry,
          logger: log.child({ part: 'rpc' }),
          enableDebug: cfg.rpc.enable_debug_methods,
          maxBodyBytes: cfg.rpc.max_request_body_bytes,
          corsOrigins: cfg.rpc.corsdomain,
          maxConnections: cfg.rpc.max_connections,
          rateLimit: { perIp: cfg.rpc.rate_limit_per_ip, windowMs: cfg.rpc.rate_limit_window_millis },
          opLookupBlockDistance: cfg.rpc.op_lookup_block_distance,
          host: cfg.rpc.host,
          port: cfg.rpc.port,
        })
    if (rpc) {
      stops.push({ name: 'rpc', stop: () => rpc.close() })
      log.info({ url: rpc.url, entryPoints: cfg.entry_points }, 'JSON-RPC server listening')
    }

    const builder = !roles.builder
      ? undefined
      : await startBuilder({
          config: cfg,
          chainId: ctx.chainId,
          chainSpec: ctx.chainSpec,
          nodeUrl: ctx.nodeUrl,
          client,
          pool,
          claims: pool instanceof RedisPool ? pool.claims() : undefined,
          validator: simulator,
          daGas,
          registry,
          log,
          rpc,
          onSenderStatus: journal && ((status) => journal.observe(status)),
        })
    if (builder) stops.push({ name: 'builder', stop: () => builder.stop() })

    let adminUrl: string | undefined
    // Every role serves its metrics and health; a `conveyor rpc` process has no senders to show.
    if (journal) {
      const admin = await startAdmin({
        config: cfg,
        version: conveyorVersion(),
        chainId: ctx.chainId,
        chainSpec: ctx.chainSpec,
        client,
        pool,
        builder,
        journal,
        registry,
        logger: log.child({ part: 'admin' }),
      })
      stops.push({ name: 'admin', stop: () => admin.stop() })
      adminUrl = admin.url
    }

    return { rpcUrl: rpc?.url, adminUrl, registry, pool, builder, stop }
  } catch (err) {
    await stop()
    throw err
  }
}

function simSettingsFrom(cfg: Config, chainSpec: ChainSpec): SimSettings {
  return defaultSimSettings(chainSpec, {
    maxVerificationGas: cfg.pool.max_verification_gas,
    maxOpGas: cfg.pool.max_op_gas,
    baseFeeAcceptPercent: BigInt(cfg.pool.min_base_fee_fraction_percent),
    minPriorityFeePerGas: cfg.pool.min_priority_fee_per_gas,
    minStakeValue: cfg.min_stake_value,
    minUnstakeDelaySec: BigInt(cfg.min_unstake_delay),
    supportedAggregators: cfg.aggregators,
  })
}

/** Blocks are polled at a quarter of the chain's send interval, so a new head is seen promptly. */
function blockPollMs(chainSpec: ChainSpec): number {
  return Math.max(50, Math.floor(chainSpec.bundleMaxSendIntervalMillis / 4))
}
