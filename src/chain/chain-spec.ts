import type { Address } from 'viem'

/** Where a chain's L1 data fee comes from (Rundler's `da_gas_oracle_type`). */
export type DaGasOracleKind = 'none' | 'optimism_bedrock' | 'arbitrum_nitro'
/** Where the bundle's priority fee comes from (Rundler's `priority_fee_oracle_type`, plus `none`). */
export type PriorityFeeOracleKind = 'provider' | 'usage_based' | 'none'

/** What Conveyor needs to know about a chain that the node does not tell it. */
export interface ChainSpec {
  name: string
  chainId: number
  /** A bundle is never built above this, whatever the block allows (EIP-7825 per-transaction cap). */
  maxTransactionGas: bigint
  /** The chain's block gas limit when it is not what the node's blocks say (0: the node's). */
  blockGasLimit: bigint
  /** Largest transaction the chain's nodes accept, in bytes. */
  maxTransactionSizeBytes: number
  /** preVerificationGas overheads (the calldata-and-overhead formula). */
  pvg: {
    /** Transaction intrinsic gas, shared by the ops of a bundle. */
    fixed: bigint
    /** The bundle size the fixed part is divided by. */
    expectedBundleSize: bigint
    perUserOp: bigint
    perUserOpWord: bigint
  }
  /** The L1 data-availability fee of an L2 (none on L1s). */
  da: {
    oracle: DaGasOracleKind
    address: Address
    /** The op's share of the L1 data fee is part of its required preVerificationGas. */
    inPreVerificationGas: boolean
    /** The L1 fee is paid through the transaction's gas limit (Arbitrum), not beside it (OP stack). */
    inGasLimit: boolean
  }
  /** EIP-7623 (Prague): calldata-heavy transactions pay at least this much per byte. */
  eip7623: { enabled: boolean; floorZeroByteGas: bigint; floorNonZeroByteGas: bigint }
  priorityFeeOracle: PriorityFeeOracleKind
  /** Minimum priority fee the bundle offers (wei). */
  minPriorityFeePerGas: bigint
  /** Trigger interval when no block arrives (Rundler: 1000 ms, dev chains 250 ms). */
  bundleMaxSendIntervalMillis: number
  /** Private relays that serve this chain. */
  flashbots: boolean
  bloxroute: boolean
}

export const OP_GAS_PRICE_ORACLE: Address = '0x420000000000000000000000000000000000000F'
export const ARBITRUM_NODE_INTERFACE: Address = '0x00000000000000000000000000000000000000C8'
const ZERO: Address = '0x0000000000000000000000000000000000000000'

const BASE: Omit<ChainSpec, 'name' | 'chainId'> = {
  maxTransactionGas: 1n << 24n,
  blockGasLimit: 0n,
  maxTransactionSizeBytes: 131_072,
  pvg: { fixed: 21_000n, expectedBundleSize: 1n, perUserOp: 18_300n, perUserOpWord: 4n },
  da: { oracle: 'none', address: ZERO, inPreVerificationGas: false, inGasLimit: false },
  eip7623: { enabled: true, floorZeroByteGas: 10n, floorNonZeroByteGas: 40n },
  priorityFeeOracle: 'provider',
  minPriorityFeePerGas: 0n,
  bundleMaxSendIntervalMillis: 1000,
  flashbots: false,
  bloxroute: false,
}

const OP_STACK: Partial<ChainSpec> = {
  da: {
    oracle: 'optimism_bedrock',
    address: OP_GAS_PRICE_ORACLE,
    inPreVerificationGas: true,
    inGasLimit: false,
  },
  // The node's eth_maxPriorityFeePerGas is a constant on OP-stack chains: use what blocks paid.
  priorityFeeOracle: 'usage_based',
  minPriorityFeePerGas: 1_000_000n,
  maxTransactionSizeBytes: 130_000,
}

const ARBITRUM: Partial<ChainSpec> = {
  da: {
    oracle: 'arbitrum_nitro',
    address: ARBITRUM_NODE_INTERFACE,
    inPreVerificationGas: true,
    inGasLimit: true,
  },
  // Arbitrum ignores tips: the base fee is the price.
  priorityFeeOracle: 'none',
  maxTransactionSizeBytes: 95_000,
  // Arbitrum prices calldata through its L1 component, not the EIP-7623 floor.
  eip7623: { enabled: false, floorZeroByteGas: 10n, floorNonZeroByteGas: 40n },
}

const POLYGON: Partial<ChainSpec> = {
  bloxroute: true,
  priorityFeeOracle: 'usage_based',
  // Polygon PoS refuses transactions tipping under its minimum.
  minPriorityFeePerGas: 30_000_000_000n,
  maxTransactionSizeBytes: 130_000,
}

const spec = (name: string, chainId: number, over: Partial<ChainSpec> = {}): ChainSpec => ({
  ...BASE,
  ...over,
  name,
  chainId,
})

/** The presets `--network NAME` selects. */
export const NETWORKS = {
  ethereum: spec('ethereum', 1, { flashbots: true, minPriorityFeePerGas: 100_000_000n }),
  sepolia: spec('sepolia', 11155111, { flashbots: true }),
  base: spec('base', 8453, OP_STACK),
  base_sepolia: spec('base_sepolia', 84532, OP_STACK),
  optimism: spec('optimism', 10, OP_STACK),
  optimism_sepolia: spec('optimism_sepolia', 11155420, OP_STACK),
  arbitrum: spec('arbitrum', 42161, ARBITRUM),
  arbitrum_sepolia: spec('arbitrum_sepolia', 421614, ARBITRUM),
  polygon: spec('polygon', 137, POLYGON),
  polygon_amoy: spec('polygon_amoy', 80002, { ...POLYGON, bloxroute: false }),
  dev: spec('dev', 31337, { bundleMaxSendIntervalMillis: 250 }),
} as const satisfies Record<string, ChainSpec>

export type NetworkName = keyof typeof NETWORKS
export const NETWORK_NAMES = Object.keys(NETWORKS) as NetworkName[]

/** Keyed by chain id, for a node whose chain is not named with --network. */
export const CHAIN_SPECS: Record<number, ChainSpec> = Object.fromEntries(
  Object.values(NETWORKS).map((s) => [s.chainId, s]),
)

export function chainSpecFor(chainId: number): ChainSpec {
  return CHAIN_SPECS[chainId] ?? spec(`chain-${chainId}`, chainId)
}
