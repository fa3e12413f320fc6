import type { Registry } from 'prom-client'
import type { Address, PublicClient } from 'viem'
import type { ChainSpec } from '../chain/chain-spec.js'
import type { DaGas } from '../chain/da/da-gas.js'
import { entryPointFor } from '../chain/entrypoint/registry.js'
import { FeeEstimator } from '../chain/fees.js'
import type { Config } from '../config/index.js'
import type { Pool } from '../pool/types.js'
import { positional } from '../rpc/params.js'
import type { RpcServer } from '../rpc/server.js'
import type { Validator } from '../sim/types.js'
import { invalidParams } from '../util/errors.js'
import type { Logger } from '../util/log.js'
import { BlockShare } from './block-share.js'
import type { OpClaims } from './claims.js'
import type { BundleResult, BundlingMode } from './machine/types.js'
import { BundleProposer, DEFAULT_PROPOSER_SETTINGS } from './proposer.js'
import { proposerMetrics } from './proposer-metrics.js'
import { BundleSender, type SenderStatus } from './sender.js'
import { SenderMetrics } from './sender-metrics.js'
import { BalanceMonitor } from './signer/balance.js'
import { createSignerManager } from './signer/create.js'
import type { SignerManager } from './signer/types.js'
import { refuseDelegatedSigners } from './signer/undelegated.js'
import { createTransactionSender, type TransactionSenderSettings } from './submit/index.js'
import type { TransactionSender } from './submit/types.js'

export interface BuilderContext {
  config: Config
  chainId: number
  chainSpec: ChainSpec
  nodeUrl: string
  client: PublicClient
  pool: Pool
  /** Sender claims, when the pool is shared by several processes (the Redis pool). */
  claims?: OpClaims
  validator: Validator
  /** On an L2: its L1 data fee oracle (shared with admission, one cache per block). */
  daGas?: DaGas
  registry: Registry
  log: Logger
  /** Where the builder's debug methods are registered. */
  rpc?: RpcServer
  /** Tests and the composition root may bring their own. */
  signers?: SignerManager
  submitter?: TransactionSender
  /** Told every sender's status after each step of its machine (status page, metrics). */
  onSenderStatus?: (status: SenderStatus) => void
}

export interface Builder {
  senders: BundleSender[]
  /** How bundles leave (read-only use: relay fallback counts). */
  submitter: TransactionSender
  /** debug_bundler_sendBundleNow: every sender builds now; the first mined bundle's hash wins. */
  sendBundleNow(): Promise<BundleResult>
  setMode(mode: BundlingMode): void
  stop(): Promise<void>
}

/** N bundle senders, each with its own signer lease and pool shard, sharing one proposer. */
export async function startBuilder(ctx: BuilderContext): Promise<Builder> {
  const cfg = ctx.config
  const log = ctx.log.child({ part: 'builder' })
  // The sender first: a chain/sender mismatch fails start-up before any signer lease is taken.
  const submitter = ctx.submitter ?? (await createTransactionSender(transactionSenderSettings(ctx, log)))
  const signers =
    ctx.signers ??
    (await createSignerManager(
      {
        privateKeys: cfg.signer.private_keys,
        mnemonic: cfg.signer.mnemonic,
        awsKmsKeyIds: cfg.signer.aws_kms_key_ids,
        awsKmsRegion: cfg.signer.aws_kms_region,
        awsKmsEndpoint: cfg.signer.aws_kms_endpoint,
        redisUri: cfg.signer.redis_uri,
        redisLockTtlMillis: cfg.signer.redis_lock_ttl_millis,
        leaseWaitMillis: cfg.signer.lease_wait_millis,
        enableLeasing: cfg.signer.enable_kms_leasing,
        numSigners: cfg.num_signers,
        chainId: ctx.chainId,
        // Ops with EIP-7702 authorizations go out as type-4 bundles (EntryPoint v0.8+).
        eip7702: (cfg.entry_points as Address[]).some((a) => entryPointFor(a)?.eip7702),
      },
      { logger: log, registry: ctx.registry },
    ))
  await refuseDelegatedSigners(ctx.client, signers).catch(async (err) => {
    if (!ctx.signers) await signers.close()
    throw err
  })
  // The block space this process's senders share (one sender: no cap).
  const blockShare = new BlockShare(cfg.num_signers)
  const proposer = new BundleProposer({
    pool: ctx.pool,
    daGas: ctx.daGas,
    claims: ctx.claims,
    validator: ctx.validator,
    fees: new FeeEstimator({ client: ctx.client, chainSpec: ctx.chainSpec }),
    client: ctx.client,
    chainSpec: ctx.chainSpec,
    settings: {
      ...DEFAULT_PROPOSER_SETTINGS,
      maxBundleSize: cfg.max_bundle_size,
      baseFeeOverheadPercent: cfg.bundle_base_fee_overhead_percent,
      priorityFeeOverheadPercent: cfg.bundle_priority_fee_overhead_percent,
      priorityFeeMode: { kind: cfg.priority_fee_mode_kind, value: cfg.priority_fee_mode_value },
      maxBundleGas: cfg.max_bundle_gas,
      validationGas: cfg.bundle_validation_gas,
    },
    logger: log.child({ part: 'proposer' }),
    metrics: proposerMetrics(ctx.registry),
    blockShare,
  })
  const metrics = new SenderMetrics(ctx.registry)
  const balances = new BalanceMonitor({ registry: ctx.registry, logger: log })
  const settings = {
    maxBlocksToWaitForMine: cfg.max_blocks_to_wait_for_mine,
    replacementFeePercentIncrease: cfg.replacement_fee_percent_increase,
    maxCancellationFeeIncreases: cfg.max_cancellation_fee_increases,
    maxReplacementUnderpricedBlocks: cfg.max_replacement_underpriced_blocks,
    dropGraceBlocks: cfg.builder.drop_grace_blocks,
    bundleMaxSendIntervalMillis:
      cfg.bundle_max_send_interval_millis ?? ctx.chainSpec.bundleMaxSendIntervalMillis,
    mode: cfg.bundling_mode,
  }
  const senders = Array.from(
    { length: cfg.num_signers },
    (_, index) =>
      new BundleSender({
        index,
        chainId: ctx.chainId,
        entryPoints: cfg.entry_points as Address[],
        proposer,
        pool: ctx.pool,
        claims: ctx.claims,
        signers,
        submitter,
        client: ctx.client,
        settings,
        logger: log,
        metrics,
        balances,
        blockShare,
        onStatus: ctx.onSenderStatus,
      }),
  )
  for (const s of senders) s.start()
  log.info({ senders: senders.length, mode: settings.mode, sender: submitter.name }, 'bundle builder started')

  const builder: Builder = {
    senders,
    submitter,
    async sendBundleNow() {
      const results = await Promise.all(senders.map((s) => s.sendBundleNow()))
      return (
        results.find((r) => r.kind === 'mined') ?? results.find((r) => r.kind === 'failed') ?? results[0]!
      )
    },
    setMode(mode) {
      for (const s of senders) s.setMode(mode)
    },
    async stop() {
      await Promise.all(senders.map((s) => s.stop()))
      await signers.close()
    },
  }
  if (ctx.rpc) registerBuilderMethods(ctx.rpc, builder)
  return builder
}

/** `--builder.*` as the transaction sender's settings. */
export function transactionSenderSettings(
  ctx: Pick<BuilderContext, 'config' | 'chainId' | 'chainSpec' | 'nodeUrl'>,
  logger?: Logger,
): TransactionSenderSettings {
  const b = ctx.config.builder
  return {
    kind: b.sender,
    useConditionalRpc: b.use_conditional_rpc,
    submitUrl: b.submit_url,
    nodeUrl: ctx.nodeUrl,
    chainId: ctx.chainId,
    chainSpec: ctx.chainSpec,
    flashbotsRelayAuthKey: b.flashbots_relay_auth_key,
    flashbotsStatusUrl: b.flashbots_status_url,
    bloxrouteAuthHeader: b.bloxroute_auth_header,
    fallback: {
      maxConsecutiveUnavailable: b.relay_max_consecutive_failures,
      recoveryMillis: b.relay_recovery_interval_millis,
    },
    timeoutMillis: b.submit_timeout_millis,
    logger,
  }
}

function registerBuilderMethods(rpc: RpcServer, builder: Builder): void {
  rpc.register(
    'debug_bundler_sendBundleNow',
    async () => {
      const r = await builder.sendBundleNow()
      // The bundle's transaction hash once mined, as bundler test suites expect; otherwise say why not.
      if (r.kind === 'mined') return r.txHash
      return { status: r.kind, reason: r.reason }
    },
    { debug: true },
  )
  rpc.register(
    'debug_bundler_setBundlingMode',
    async (params) => {
      const [mode] = positional(params, 1, 1)
      if (mode !== 'auto' && mode !== 'manual')
        throw invalidParams('bundling mode must be "auto" or "manual"')
      builder.setMode(mode)
      return 'ok'
    },
    { debug: true },
  )
  rpc.register('debug_bundler_getSenderStatus', async () => builder.senders.map((s) => s.status()), {
    debug: true,
  })
}
