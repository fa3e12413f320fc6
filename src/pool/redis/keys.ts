import type { Address } from 'viem'

/**
 * Key layout of one EntryPoint's pool. Every key carries the hash tag `{ep:<address>}`, so one
 * EntryPoint's keys share a Redis Cluster hash slot and each Lua script touches one slot only.
 * The scripts get the prefix as KEYS[1] and derive the others from it (same slot by the tag).
 *
 *   <p>:m:op          HASH  userOpHash → the PoolOp (JSON, bigints as {"$n":…})
 *   <p>:m:meta        HASH  userOpHash → what the scripts index by (sender, nonce, shard, fees, entities)
 *   <p>:m:s:<sender>  HASH  nonce (64 hex digits) → userOpHash
 *   <p>:m:e:<entity>  SET   userOpHashes referencing a factory / paymaster / aggregator
 *   <p>:m:q:<shard>:p ZSET  ops whose tip is their priority fee, score = maxPriorityFeePerGas
 *   <p>:m:q:<shard>:f ZSET  ops whose tip is maxFee − baseFee, score = maxFeePerGas
 *   <p>:m:hr          ZSET  every op by headroom (maxFee − prio), to move ops when the base fee moves
 *   <p>:m:auth        SET   userOpHashes carrying an EIP-7702 authorization
 *   <p>:m:base        STR   base fee the groups are split at (on the way to m:basetarget)
 *   <p>:m:basetarget  STR   the chain's latest base fee: ops move toward it a chunk per script
 *   <p>:m:seq         STR   arrival counter
 *   <p>:r:seen / :r:inc HASH address → opsSeen / opsIncluded; <p>:r:thr SET throttled addresses
 *   <p>:r:decay       STR   (with TTL) the hourly decay ran
 *   <p>:c:blocks      HASH  block number → hash applied (the watermark), the last N blocks
 *   <p>:c:rec:<hash>  STR   what undoing that block needs (ops it removed, included counts)
 *   <p>:c:mined / :c:minedop / :c:minedblk HASH userOpHash → receipt data / op / block hash
 */
export function poolPrefix(namespace: string, entryPoint: Address): string {
  return `${namespace}:{ep:${entryPoint.toLowerCase()}}`
}

export const k = {
  op: (p: string) => `${p}:m:op`,
  meta: (p: string) => `${p}:m:meta`,
  sender: (p: string, sender: string) => `${p}:m:s:${sender.toLowerCase()}`,
  entity: (p: string, address: string) => `${p}:m:e:${address.toLowerCase()}`,
  queue: (p: string, shard: number, group: 'p' | 'f') => `${p}:m:q:${shard}:${group}`,
  base: (p: string) => `${p}:m:base`,
  auth: (p: string) => `${p}:m:auth`,
  repSeen: (p: string) => `${p}:r:seen`,
  repIncluded: (p: string) => `${p}:r:inc`,
  throttled: (p: string) => `${p}:r:thr`,
  decay: (p: string) => `${p}:r:decay`,
  blocks: (p: string) => `${p}:c:blocks`,
  mined: (p: string) => `${p}:c:mined`,
  minedOp: (p: string) => `${p}:c:minedop`,
}

/** Nonces as 64 hex digits: the first 48 are the ERC-4337 key, the last 16 the sequence. */
export const nonceField = (nonce: bigint): string => nonce.toString(16).padStart(64, '0')

/** The arrival number is folded into the sort member so equal scores order by arrival. */
const SEQ_TOP = 999_999_999_999_999
export const seqOfMember = (member: string): number => SEQ_TOP - Number(member.slice(0, 15))
export const hashOfMember = (member: string): string => member.slice(16)
