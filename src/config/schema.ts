import type { Address } from 'viem'
import { z } from 'zod'
import { NETWORK_NAMES, type NetworkName } from '../chain/chain-spec.js'
import { ENTRY_POINT_VERSIONS, ENTRY_POINTS } from '../chain/entrypoint.js'
import { listOptions, type OptionInfo, opt } from './option.js'
import { metricsOptions, rpcOptions } from './schema-servers.js'
import { SPELLINGS } from './spellings.js'
import {
  addressItem,
  bigint,
  boolean,
  decimal,
  ENTRY_POINTS_ACCEPTS,
  entryPointItem,
  integer,
  list,
  mnemonicValue,
  oneOf,
  privateKeyItem,
  text,
  url,
} from './value-types.js'

const HTTP = ['http:', 'https:'] as const
const ETH = 1_000_000_000_000_000_000n

export const PRIORITY_FEE_MODE_KINDS = ['priority_fee_increase_percent', 'base_fee_percent'] as const
export const BUNDLING_MODES = ['auto', 'manual'] as const
export const BUNDLE_VALIDATION_GAS_MODES = ['simulated', 'declared'] as const
export const SENDER_KINDS = ['raw', 'flashbots', 'polygon_bloxroute'] as const
export const SIM_TRACERS = ['auto', 'native', 'js'] as const
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const

const percent = (max = 1000) => integer({ min: 0, max, unit: 'percent' })

/**
 * Every option of the bundler, in one schema. The keys are where values live in the Config object;
 * flag names are the dotted paths, except where `spellings.ts` gives Rundler's spelling (and the
 * older ones still accepted). --help, the environment mapping and the error messages are all
 * generated from the `opt()` declarations below and that table.
 */
export const configSchema = z
  .object({
    node_http: opt({
      type: url(HTTP, 'an http(s) URL'),
      help: "The chain's JSON-RPC node. Required for `conveyor node`; `conveyor dev` uses its embedded chain.",
    }),
    chain_id: opt({
      type: integer({ min: 1 }),
      help: 'Expected chain id: start-up fails if the node reports another. In dev, the chain id of the embedded chain.',
      defaultText: "the node's",
    }),
    network: opt<NetworkName>({
      type: oneOf(NETWORK_NAMES as [NetworkName, ...NetworkName[]]),
      help: `The chain's preset (chain id, L1 data fee oracle, priority-fee source, limits): ${NETWORK_NAMES.join(', ')}. Start-up refuses a node of another chain id.`,
      defaultText: "the preset of the node's chain id (dev for conveyor dev)",
    }),
    chain_spec: opt({
      type: text('a path to a TOML or JSON file'),
      help: "A chain spec file (TOML, or JSON if named *.json) whose fields, in Rundler's names (id, da_gas_oracle_type, da_gas_oracle_contract_address, da_pre_verification_gas, include_da_gas_in_gas_limit, min_max_priority_fee_per_gas, priority_fee_oracle_type, bundle_max_send_interval_millis, block_gas_limit, max_transaction_size_bytes, eip7623_enabled, …), override the --network preset's.",
    }),
    entry_points: opt({
      type: list(entryPointItem, ENTRY_POINTS_ACCEPTS),
      help: 'EntryPoints to serve.',
      default: ENTRY_POINT_VERSIONS.map((v) => ENTRY_POINTS[v].address) as Address[],
    }),
    min_stake_value: opt({
      type: bigint({ unit: 'wei' }),
      help: 'Minimum stake for an entity to count as staked (ERC-7562).',
      default: ETH,
    }),
    min_unstake_delay: opt({
      type: integer({ min: 0, unit: 'seconds' }),
      help: 'Minimum unstake delay for an entity to count as staked.',
      default: 86_400,
    }),
    aggregators: opt({
      type: list(addressItem, 'comma-separated aggregator addresses'),
      help: 'Signature aggregators this bundler serves (ERC-7766): their ops are admitted after validateUserOpSignature and bundled with handleAggregatedOps. Ops naming any other aggregator are refused (-32506).',
      default: [] as Address[],
    }),
    unsafe: opt({
      type: boolean(),
      help: "Skip the ERC-7562 validation tracer and its rules (opcodes, storage access, staked entities' exceptions) for nodes without debug_traceCall; the mempool's own limits still apply.",
      default: false,
    }),
    metrics: metricsOptions,

    // Bundle builder (flag names in spellings.ts: --builder.max_bundle_size, …).
    max_bundle_size: opt({
      type: integer({ min: 1, max: 1024 }),
      help: 'Most user operations in one bundle.',
      default: 128,
    }),
    max_blocks_to_wait_for_mine: opt({
      type: integer({ min: 1, max: 1000, unit: 'blocks' }),
      help: 'Blocks a bundle or cancellation may stay pending before it is replaced with higher fees.',
      default: 2,
    }),
    replacement_fee_percent_increase: opt({
      type: percent(),
      help: 'Raise of both fee fields when a bundle transaction is replaced (the floor of the next fees).',
      default: 10,
    }),
    max_cancellation_fee_increases: opt({
      type: integer({ min: 0, max: 1000 }),
      help: 'Fee increases of a cancellation before the nonce is abandoned.',
      default: 15,
    }),
    max_replacement_underpriced_blocks: opt({
      type: integer({ min: 0, max: 100_000, unit: 'blocks' }),
      help: 'Blocks of "replacement underpriced" answers before the sender cancels instead.',
      default: 20,
    }),
    bundle_max_send_interval_millis: opt({
      section: 'Bundle builder',
      type: integer({ min: 1, max: 3_600_000, unit: 'milliseconds' }),
      help: 'Longest wait between bundle attempts when no new block arrives.',
      defaultText: 'chain spec: 1000, dev chains 250',
    }),
    bundle_base_fee_overhead_percent: opt({
      section: 'Bundle builder',
      type: percent(),
      help: 'Margin over the current base fee in the bundle maxFeePerGas.',
      default: 27,
    }),
    bundle_priority_fee_overhead_percent: opt({
      section: 'Bundle builder',
      type: percent(),
      help: "Margin over the node's suggested priority fee in the bundle tip.",
      default: 0,
    }),
    priority_fee_mode_kind: opt<(typeof PRIORITY_FEE_MODE_KINDS)[number]>({
      section: 'Bundle builder',
      type: oneOf(PRIORITY_FEE_MODE_KINDS),
      help: 'How the least acceptable user operation tip is derived: N% above the bundle tip, or N% of the base fee.',
      default: 'priority_fee_increase_percent',
    }),
    priority_fee_mode_value: opt({
      section: 'Bundle builder',
      type: percent(100_000),
      help: 'The N of priority_fee_mode_kind.',
      default: 0,
    }),
    max_bundle_gas: opt({
      section: 'Bundle builder',
      type: bigint({ min: 21_000n, unit: 'gas' }),
      help: 'Cap on the summed maximum gas of the ops in one bundle.',
      defaultText: '0.9 × the block gas limit, never above the per-transaction cap',
    }),
    bundle_validation_gas: opt<(typeof BUNDLE_VALIDATION_GAS_MODES)[number]>({
      section: 'Bundle builder',
      type: oneOf(BUNDLE_VALIDATION_GAS_MODES),
      help: "The validation share of a bundle transaction's gas limit: simulated (each op's validation gas in its bundle-time simulation, +10 % +20,000, at most its limits) or declared (its verification limits). Call and postOp limits are always reserved in full.",
      default: 'simulated',
    }),
    bundling_mode: opt<(typeof BUNDLING_MODES)[number]>({
      section: 'Bundle builder',
      type: oneOf(BUNDLING_MODES),
      help: 'auto: build on new blocks and timers; manual: only on debug_bundler_sendBundleNow.',
      default: 'auto',
    }),
    num_signers: opt({
      section: 'Bundle builder',
      type: integer({ min: 1, max: 64 }),
      help: 'Bundle senders running in parallel, each with its own signer and pool shard.',
      default: 1,
    }),

    rpc: rpcOptions,

    sim: z
      .object({
        tracer: opt<(typeof SIM_TRACERS)[number]>({
          type: oneOf(SIM_TRACERS),
          help: "Where safe mode gets its ERC-7562 traces: native (the node's prestateTracer, replayed in-process and confirmed with eth_call; falls back to the JS tracer where the node has one), js (the node runs Conveyor's JavaScript tracer), or auto (probe the node at start-up, prefer native).",
          default: 'auto',
        }),
        replay_worker: opt({
          type: boolean(),
          help: "Run the native path's in-process replays on a worker thread, off the thread that serves the RPC and builds bundles; --sim.replay_worker=false keeps them there (a machine with one core).",
          default: true,
        }),
      })
      .strict()
      .default({}),

    log: z
      .object({
        level: opt<(typeof LOG_LEVELS)[number]>({
          type: oneOf(LOG_LEVELS),
          help: 'Log level (logs go to stderr).',
          default: 'info',
        }),
      })
      .strict()
      .default({}),

    pool: z
      .object({
        max_ops: opt({
          type: integer({ min: 1, max: 10_000_000 }),
          help: 'Most user operations held per EntryPoint; the lowest-fee op is evicted beyond it.',
          default: 100_000,
        }),
        max_ops_per_unstaked_sender: opt({
          type: integer({ min: 1, max: 10_000 }),
          help: 'Pending ops per unstaked sender (ERC-7562 SAME_SENDER_MEMPOOL_COUNT).',
          default: 4,
        }),
        max_ops_per_staked_sender: opt({
          type: integer({ min: 1, max: 10_000 }),
          help: 'Pending ops per staked sender.',
          default: 16,
        }),
        replacement_fee_percent_increase: opt({
          type: percent(),
          help: 'Raise of both fee fields a replacing user operation must offer.',
          default: 10,
        }),
        min_base_fee_fraction_percent: opt({
          type: percent(100),
          help: 'An op is admitted only if its maxFeePerGas covers this share of the current base fee.',
          default: 50,
        }),
        min_priority_fee_per_gas: opt({
          type: bigint({ unit: 'wei' }),
          help: 'Least maxPriorityFeePerGas an op must offer to be admitted.',
          default: 0n,
        }),
        max_verification_gas: opt({
          type: bigint({ min: 1n, unit: 'gas' }),
          help: 'Largest verificationGasLimit (plus paymasterVerificationGasLimit) admitted.',
          default: 5_000_000n,
        }),
        max_op_gas: opt({
          type: bigint({ min: 21_000n, unit: 'gas' }),
          help: 'Largest total gas (pre-verification + verification + call + paymaster) of one op.',
          defaultText: "the chain's per-transaction gas cap (2^24)",
        }),
        mined_op_retention_blocks: opt({
          type: integer({ min: 1, max: 100_000, unit: 'blocks' }),
          help: 'Blocks mined ops are remembered, to restore them on a reorg and answer receipts.',
          default: 64,
        }),
        allowlist: opt({
          type: list(addressItem, 'comma-separated addresses'),
          help: 'Entities (senders, factories, paymasters, aggregators) never throttled or banned by reputation.',
          default: [] as Address[],
        }),
        blocklist: opt({
          type: list(addressItem, 'comma-separated addresses'),
          help: 'Ops with a listed entity are rejected.',
          default: [] as Address[],
        }),
        redis_uri: opt({
          type: url(['redis:', 'rediss:'], 'a redis:// or rediss:// URL'),
          help: 'Keep the mempool in this Redis, shared by every Conveyor process pointing at it (default: in memory).',
        }),
      })
      .strict()
      .default({}),

    builder: z
      .object({
        sender: opt<(typeof SENDER_KINDS)[number]>({
          type: oneOf(SENDER_KINDS),
          help: 'How bundles are submitted: raw (eth_sendRawTransaction), flashbots (Protect, mainnet), polygon_bloxroute (bloXroute, Polygon).',
          default: 'raw',
        }),
        submit_url: opt({
          type: url(HTTP, 'an http(s) URL'),
          help: 'Where bundles are submitted (a relay for flashbots/bloxroute).',
          defaultText: 'node_http',
        }),
        use_conditional_rpc: opt({
          type: boolean(),
          help: 'Submit with eth_sendRawTransactionConditional (raw sender only).',
          default: false,
        }),
        flashbots_relay_auth_key: opt({
          type: { schema: privateKeyItem, accepts: 'a 32-byte hex private key', show: String },
          help: 'Reputation key that signs X-Flashbots-Signature (required with --builder.sender=flashbots).',
          secret: true,
        }),
        flashbots_status_url: opt({
          type: url(HTTP, 'an http(s) URL'),
          help: 'Flashbots status API (GET <url>/tx/<hash>).',
          defaultText: 'builder.submit_url',
        }),
        bloxroute_auth_header: opt({
          type: text('the Authorization header value'),
          help: 'bloXroute Authorization header (required with --builder.sender=polygon_bloxroute).',
          secret: true,
        }),
        relay_max_consecutive_failures: opt({
          type: integer({ min: 0, max: 1000 }),
          help: 'Private relay (flashbots/bloxroute): after this many consecutive "unavailable" answers, submit raw through node_http instead; 0 never falls back.',
          default: 3,
        }),
        relay_recovery_interval_millis: opt({
          type: integer({ min: 0, max: 86_400_000, unit: 'milliseconds' }),
          help: 'After falling back from a private relay, how long to submit through node_http before trying the relay again.',
          default: 60_000,
        }),
        submit_timeout_millis: opt({
          type: integer({ min: 100, max: 600_000, unit: 'milliseconds' }),
          help: 'Timeout of each submission, cancellation or status call to the submit endpoint or relay.',
          default: 10_000,
        }),
        drop_grace_blocks: opt({
          type: integer({ min: 0, max: 1000, unit: 'blocks' }),
          help: 'Blocks after its submission before a bundle that neither the submit endpoint nor node_http knows counts as dropped (a status node lags the endpoint it was sent to).',
          default: 1,
        }),
      })
      .strict()
      .default({}),

    signer: z
      .object({
        private_keys: opt({
          type: list(privateKeyItem, 'comma-separated 32-byte hex private keys'),
          help: 'Bundle signer keys, one per sender. `conveyor dev` generates and funds keys when none is given.',
          secret: true,
        }),
        private_keys_file: opt({
          type: text('a file path'),
          help: 'Read signer.private_keys from this file (one key per line or comma-separated; # comments).',
        }),
        mnemonic: opt({
          type: { schema: mnemonicValue, accepts: 'a 12 to 24 word BIP-39 English mnemonic', show: String },
          help: "Derive signer keys from this mnemonic (m/44'/60'/0'/0/i for sender i).",
          secret: true,
        }),
        aws_kms_key_ids: opt({
          type: list(text().schema, 'comma-separated AWS KMS key ids or ARNs'),
          help: 'Sign with these AWS KMS secp256k1 keys, leased one per sender.',
        }),
        aws_kms_region: opt({
          type: text('an AWS region'),
          help: 'AWS region of the KMS keys.',
          defaultText: 'the AWS SDK default',
        }),
        aws_kms_endpoint: opt({
          type: url(HTTP, 'an http(s) URL'),
          help: 'KMS endpoint override (a local KMS-compatible server).',
        }),
        enable_kms_leasing: opt({
          type: boolean(),
          help: 'Lease KMS keys through Redis so no two senders share a key (needs signer.redis_uri).',
          default: true,
        }),
        redis_uri: opt({
          type: url(['redis:', 'rediss:'], 'a redis:// or rediss:// URL'),
          help: 'Redis for KMS key leasing.',
        }),
        redis_lock_ttl_millis: opt({
          type: integer({ min: 1000, max: 86_400_000, unit: 'milliseconds' }),
          help: 'Lifetime of a key lease; the holder renews it well before.',
          default: 60_000,
        }),
        lease_wait_millis: opt({
          type: integer({ min: 0, max: 86_400_000, unit: 'milliseconds' }),
          help: 'How long start-up waits for a free KMS key before failing.',
          default: 60_000,
        }),
      })
      .strict()
      .default({}),

    dev: z
      .object({
        chain_port: opt({
          type: integer({ min: 0, max: 65_535 }),
          help: 'Port of the embedded chain (conveyor dev); 0 picks a free port.',
          default: 0,
        }),
        block_time: opt({
          type: decimal({ min: 0, max: 3600, unit: 'seconds' }),
          help: 'Block interval of the embedded chain; 0 mines a block per transaction.',
          default: 1,
        }),
      })
      .strict()
      .default({}),
  })
  .strict()

export type Config = z.output<typeof configSchema>

/** Every option, in declaration order: the table behind flags, env names, --help and errors. */
export const OPTIONS: readonly OptionInfo[] = listOptions(configSchema, SPELLINGS)
export const OPTIONS_BY_NAME: ReadonlyMap<string, OptionInfo> = new Map(OPTIONS.map((o) => [o.name, o]))
export const OPTIONS_BY_PATH: ReadonlyMap<string, OptionInfo> = new Map(
  OPTIONS.map((o) => [o.path.join('.'), o]),
)
