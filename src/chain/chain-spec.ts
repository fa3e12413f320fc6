/** What Conveyor needs to know about a chain that the node does not tell it. */
export interface ChainSpec {
  name: string
  chainId: number
  /** A bundle is never built above this, whatever the block allows (EIP-7825 per-transaction cap). */
  maxTransactionGas: bigint
  /** preVerificationGas overheads (the calldata-and-overhead formula). */
  pvg: {
    /** Transaction intrinsic gas, shared by the ops of a bundle. */
    fixed: bigint
    /** The bundle size the fixed part is divided by. */
    expectedBundleSize: bigint
    perUserOp: bigint
    perUserOpWord: bigint
  }
  /** Node returns a usable eth_maxPriorityFeePerGas (false on chains that hard-code it). */
  priorityFeeFromNode: boolean
  /** Minimum priority fee the bundle offers (wei). */
  minPriorityFeePerGas: bigint
  /** Trigger interval when no block arrives (Rundler: 1000 ms, dev chains 250 ms). */
  bundleMaxSendIntervalMillis: number
  /** Private relays that serve this chain. */
  flashbots: boolean
  bloxroute: boolean
}

const BASE: Omit<ChainSpec, 'name' | 'chainId'> = {
  maxTransactionGas: 1n << 24n,
  pvg: { fixed: 21_000n, expectedBundleSize: 1n, perUserOp: 18_300n, perUserOpWord: 4n },
  priorityFeeFromNode: true,
  minPriorityFeePerGas: 0n,
  bundleMaxSendIntervalMillis: 1000,
  flashbots: false,
  bloxroute: false,
}

export const CHAIN_SPECS: Record<number, ChainSpec> = {
  1: { ...BASE, name: 'ethereum', chainId: 1, flashbots: true, minPriorityFeePerGas: 100_000_000n },
  11155111: { ...BASE, name: 'sepolia', chainId: 11155111, flashbots: true },
  137: { ...BASE, name: 'polygon', chainId: 137, bloxroute: true, minPriorityFeePerGas: 30_000_000_000n },
  10: { ...BASE, name: 'optimism', chainId: 10, priorityFeeFromNode: false },
  8453: { ...BASE, name: 'base', chainId: 8453, priorityFeeFromNode: false },
  42161: { ...BASE, name: 'arbitrum', chainId: 42161, priorityFeeFromNode: false },
  31337: { ...BASE, name: 'dev', chainId: 31337, bundleMaxSendIntervalMillis: 250 },
}

export function chainSpecFor(chainId: number): ChainSpec {
  return CHAIN_SPECS[chainId] ?? { ...BASE, name: `chain-${chainId}`, chainId }
}
