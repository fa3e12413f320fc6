import type { Redis } from 'ioredis'
import type { Hash } from 'viem'
import type { BlockHeader } from '../chain-history.js'

/**
 * Ops are queued per shard (uint256(sender) mod numShards = --num_signers), so every process on
 * one pool must use the same count; the first process to start records it.
 */
export async function checkShardCount(redis: Redis, namespace: string, numShards: number): Promise<void> {
  const key = `${namespace}:shards`
  await redis.set(key, String(numShards), 'NX')
  const recorded = Number(await redis.get(key))
  if (recorded !== numShards) {
    throw new Error(
      `this Redis pool is sharded ${recorded} ways but --num_signers is ${numShards}: every process sharing a pool needs the same --num_signers`,
    )
  }
}

/** A viem block as the tracker's header (a pending block has no number or hash). */
export function toHeader(b: {
  number: bigint | null
  hash: Hash | null
  parentHash: Hash
  timestamp: bigint
  baseFeePerGas: bigint | null
  gasLimit: bigint
}): BlockHeader {
  if (b.number === null || b.hash === null) throw new Error('pending block')
  return {
    number: b.number,
    hash: b.hash,
    parentHash: b.parentHash,
    timestamp: b.timestamp,
    baseFeePerGas: b.baseFeePerGas,
    gasLimit: b.gasLimit,
  }
}
