import type { Address } from 'viem'
import { factoryEntity } from '../chain/eip7702.js'
import { type Ranked, ranked } from './fee-index.js'
import { shardOf } from './shard.js'
import type { EntityKind, PoolOp } from './types.js'

/** An entity an op references besides its sender, with whether validation found it staked. */
export interface EntityRef {
  kind: Exclude<EntityKind, 'account'>
  address: Address
  key: string
  staked: boolean
}

/** A pooled op with the keys the mempool indexes it by. */
export interface PoolEntry extends Ranked {
  op: PoolOp
  hashKey: string
  senderKey: string
  nonce: bigint
  senderStaked: boolean
  entities: EntityRef[]
  /** Block the pool had processed when the op was admitted (for THROTTLED_ENTITY_LIVE_BLOCKS). */
  addedAtBlock: bigint
}

export function toEntry(op: PoolOp, numShards: number, addedAtBlock: bigint): PoolEntry {
  const u = op.op
  const v = op.validation
  const entities: EntityRef[] = []
  const factory = factoryEntity(u)
  if (factory) entities.push(ref('factory', factory, v.factory?.isStaked))
  if (u.paymaster) entities.push(ref('paymaster', u.paymaster, v.paymaster?.isStaked))
  const aggregator = op.aggregator ?? v.aggregator?.address
  if (aggregator) entities.push(ref('aggregator', aggregator, v.aggregator?.stake.isStaked))
  return {
    op,
    hashKey: lower(op.hash),
    senderKey: u.sender.toLowerCase(),
    nonce: u.nonce,
    senderStaked: v.sender.isStaked,
    entities,
    addedAtBlock,
    ...ranked(op.seq, u.maxPriorityFeePerGas, u.maxFeePerGas, shardOf(u.sender, numShards)),
  }
}

function ref(kind: EntityRef['kind'], address: Address, staked: boolean | undefined): EntityRef {
  return { kind, address, key: address.toLowerCase(), staked: staked ?? false }
}

/** Nonce layout of ERC-4337: a 192-bit key and a 64-bit sequence. */
export const nonceKey = (nonce: bigint): bigint => nonce >> 64n
export const nonceSeq = (nonce: bigint): bigint => nonce & 0xffff_ffff_ffff_ffffn

/** Reuses the string when it is already lowercase (userOpHash output is), one copy less per op. */
function lower(s: string): string {
  const l = s.toLowerCase()
  return l === s ? s : l
}
