import type { Address, Hash } from 'viem'
import type { UserOperation } from '../chain/userop.js'
import type { ValidationResult } from '../sim/types.js'

/** An op admitted to the pool, with what the builder re-checks at bundling time. */
export interface PoolOp {
  hash: Hash
  entryPoint: Address
  op: UserOperation
  /** Aggregator returned by validation, if any. */
  aggregator?: Address
  /** Arrival order, for ties and dumpMempool. */
  seq: number
  /** The admission validation (block of simulation, code hashes, storage read, stake infos). */
  validation: ValidationResult
}

export type EntityKind = 'account' | 'factory' | 'paymaster' | 'aggregator'
export interface Entity {
  kind: EntityKind
  address: Address
}

/** Penalties the builder reports back to the pool's reputation (ERC-7562). */
export type EntityUpdateKind =
  | 'unstaked_invalidation'
  | 'staked_invalidation'
  | 'paymaster_ops_seen_decrement'
export interface EntityUpdate {
  entity: Entity
  kind: EntityUpdateKind
}

export interface AddressUpdate {
  address: Address
  /** Highest nonce this address used in the block, if it sent any transaction in it. */
  nonce?: bigint
  balance: bigint
  minedTxHashes: Hash[]
}

export interface NewHead {
  blockNumber: bigint
  blockHash: Hash
  addressUpdates: AddressUpdate[]
}

export interface GetOpsQuery {
  entryPoint: Address
  maxOps: number
  shardIndex: number
}

export interface MinedOpInfo {
  hash: Hash
  entryPoint: Address
  op: UserOperation
  blockNumber: bigint
  blockHash: Hash
  transactionHash: Hash
  /** Decoded UserOperationEvent and the logs between this op's events, for eth_getUserOperationReceipt. */
  success: boolean
  actualGasCost: bigint
  actualGasUsed: bigint
  paymaster: Address
  nonce: bigint
  sender: Address
  logs: unknown[]
  receipt: unknown
}

/**
 * The seam between the builder and the mempool. Plain data in and out so the pool can later run in
 * its own process.
 */
export interface Pool {
  addOp(entryPoint: Address, op: UserOperation): Promise<Hash>
  /** Pending ops of one shard, best effective priority fee first. */
  getOps(q: GetOpsQuery): Promise<PoolOp[]>
  removeOps(entryPoint: Address, hashes: Hash[]): Promise<void>
  updateEntities(entryPoint: Address, updates: EntityUpdate[]): Promise<void>
  /** Every block, in order, none dropped for a slow reader. */
  subscribeNewHeads(addresses: Address[]): AsyncIterable<NewHead>
}

export type ReputationStatus = 'ok' | 'throttled' | 'banned'
export interface ReputationEntry {
  address: Address
  opsSeen: number
  opsIncluded: number
  status?: ReputationStatus
}

export interface StakeStatus {
  stakeInfo: { addr: Address; stake: bigint; unstakeDelaySec: bigint }
  isStaked: boolean
}

/** Read side of the pool, for the RPC. */
export interface PoolQuery {
  getOp(hash: Hash): Promise<PoolOp | undefined>
  /** Ops the chain tracker saw mined and still remembers (within its reorg window). */
  getMinedOp(hash: Hash): Promise<MinedOpInfo | undefined>
  /** The chain tracker has processed the node's latest block (for /health). */
  isCurrent(): Promise<boolean>
}

/** The debug_bundler_* surface. */
export interface PoolDebug {
  dumpMempool(entryPoint: Address): Promise<PoolOp[]>
  clearMempool(): Promise<void>
  /** Mempool and reputation. */
  clearState(): Promise<void>
  dumpReputation(entryPoint: Address): Promise<ReputationEntry[]>
  setReputation(entryPoint: Address, entries: ReputationEntry[]): Promise<void>
  clearReputation(): Promise<void>
  getStakeStatus(entryPoint: Address, address: Address): Promise<StakeStatus>
}
