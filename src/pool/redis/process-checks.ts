import type { Redis } from 'ioredis'

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
