import type { Address } from 'viem'
import { RpcCode, RpcError } from '../util/errors.js'

/** The shard an op belongs to: uint256(sender) mod numShards. */
export function shardOf(sender: Address, numShards: number): number {
  if (numShards === 1) return 0
  return Number(BigInt(sender) % BigInt(numShards))
}

/** An out-of-range shard index is the caller's mistake: -32602 saying the valid range. */
export function checkShardIndex(shardIndex: number, numShards: number): void {
  if (!Number.isInteger(shardIndex) || shardIndex < 0 || shardIndex >= numShards) {
    throw new RpcError(
      RpcCode.InvalidParams,
      `shard index ${shardIndex} out of range: the pool has ${numShards} shard(s), 0..${numShards - 1}`,
    )
  }
}
