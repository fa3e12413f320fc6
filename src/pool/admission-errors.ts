import { toHex } from 'viem'
import { raiseByPercent } from '../chain/fee-math.js'
import { RpcCode, RpcError } from '../util/errors.js'
import type { PoolEntry } from './entry.js'

/** The admission refusals, worded once for both pool backends (in-memory and Redis). */
export const refuse = {
  alreadyPooled: (hash: string) => invalid(`user operation ${hash} is already in the mempool`),
  alreadyMined: (hash: string) => invalid(`user operation ${hash} was already mined`),
  senderIsEntity: (sender: string) =>
    invalid(`sender ${sender} is used as a factory, paymaster or aggregator by an op in the mempool`),
  entityIsSender: (kind: string, address: string) =>
    invalid(`${kind} ${address} is the sender of an op in the mempool`),
  banned: (role: string, address: string) =>
    new RpcError(RpcCode.BannedOrThrottled, `${role} ${address} is banned`, { [role]: address }),
  throttled: (role: string, address: string, opsInPool: number, limit: number) =>
    new RpcError(
      RpcCode.BannedOrThrottled,
      `${role} ${address} is throttled and already has ${opsInPool} ops in the mempool (limit ${limit})`,
      { [role]: address },
    ),
  senderLimit: (sender: string, count: number, limit: number, staked: boolean) =>
    new RpcError(
      RpcCode.BannedOrThrottled,
      `sender ${sender} already has ${count} ops in the mempool, the limit for a${staked ? ' staked' : 'n unstaked'} sender is ${limit}`,
    ),
  entityLimit: (kind: string, address: string, count: number, allowed: number) =>
    new RpcError(
      RpcCode.BannedOrThrottled,
      `unstaked ${kind} ${address} already has ${count} ops in the mempool (allowed ${allowed}); stake to raise the limit`,
    ),
  full: (size: number, tip: bigint, lowest: bigint) =>
    invalid(
      `mempool is full (${size} ops) and this op's effective tip ${tip} does not beat the lowest pooled tip ${lowest}`,
    ),
}

/** A replacement of (sender, nonce) must raise both fee fields by `pct` percent, rounded up. */
export function checkReplacementFees(c: PoolEntry, old: PoolEntry, pct: number): void {
  const o = old.op.op
  const n = c.op.op
  const minPrio = raiseByPercent(o.maxPriorityFeePerGas, pct)
  const minFee = raiseByPercent(o.maxFeePerGas, pct)
  if (n.maxPriorityFeePerGas < minPrio || n.maxFeePerGas < minFee) {
    throw invalid(
      `replacement underpriced: replacing ${o.sender} nonce ${o.nonce} needs maxPriorityFeePerGas >= ${minPrio} and maxFeePerGas >= ${minFee} (+${pct}% over the pooled op), got ${n.maxPriorityFeePerGas} and ${n.maxFeePerGas}`,
      { minMaxPriorityFeePerGas: toHex(minPrio), minMaxFeePerGas: toHex(minFee) },
    )
  }
}

function invalid(message: string, data?: unknown): RpcError {
  return new RpcError(RpcCode.InvalidParams, message, data)
}
