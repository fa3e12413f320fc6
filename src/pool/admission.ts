import { toHex } from 'viem'
import { raiseByPercent } from '../chain/fee-math.js'
import { RpcCode, RpcError } from '../util/errors.js'
import { checkOneAuthorizationPerSender } from './eip7702-rules.js'
import type { PoolEntry } from './entry.js'
import type { Mempool } from './mempool.js'
import type { Reputation } from './reputation.js'
import type { PoolSettings } from './settings.js'

/** What admitting a candidate changes: the op it replaces and the op it evicts, if any. */
export interface AdmissionPlan {
  replaces?: PoolEntry
  evicts?: PoolEntry
}

/**
 * The mempool and reputation rules for a validated candidate, checked against the current pool
 * without changing anything; throws RpcError naming the rule. The caller applies the plan in the
 * same synchronous step, so admission is all-or-nothing.
 */
export function planAdmission(c: PoolEntry, pool: Mempool, rep: Reputation, s: PoolSettings): AdmissionPlan {
  const op = c.op.op
  if (pool.get(c.hashKey)) throw invalid(`user operation ${c.op.hash} is already in the mempool`)

  const replaces = pool.at(c.senderKey, c.nonce)
  if (replaces) checkReplacementFees(c, replaces, s.replacementFeePercentIncrease)
  checkOneAuthorizationPerSender(c, pool, replaces)

  // An address is a sender in one op or an entity in others, never both (ERC-7562 STO-040 family).
  if (pool.entityCount(c.senderKey) > 0) {
    throw invalid(`sender ${op.sender} is used as a factory, paymaster or aggregator by an op in the mempool`)
  }
  for (const ent of c.entities) {
    if (pool.senderCount(ent.key) > 0) {
      throw invalid(`${ent.kind} ${ent.address} is the sender of an op in the mempool`)
    }
  }

  // Counts as they will be once the replaced op is gone.
  const senderOps = pool.senderCount(c.senderKey) - (replaces ? 1 : 0)
  const entityOps = (key: string) =>
    pool.entityCount(key) - (replaces?.entities.some((e) => e.key === key) ? 1 : 0)

  checkStatus(rep, s, op.sender, 'sender', senderOps)
  for (const ent of c.entities) checkStatus(rep, s, ent.address, ent.kind, entityOps(ent.key))

  const senderExempt = c.senderStaked || rep.isAllowlisted(op.sender)
  const senderLimit = senderExempt ? s.maxOpsPerStakedSender : s.maxOpsPerUnstakedSender
  if (senderOps >= senderLimit) {
    throw new RpcError(
      RpcCode.BannedOrThrottled,
      `sender ${op.sender} already has ${senderOps} ops in the mempool, the limit for a${senderExempt ? ' staked' : 'n unstaked'} sender is ${senderLimit}`,
    )
  }
  for (const ent of c.entities) {
    if (ent.staked || rep.isAllowlisted(ent.address)) continue
    const allowed = rep.unstakedOpsAllowed(ent.address)
    const count = entityOps(ent.key)
    if (count >= allowed) {
      throw new RpcError(
        RpcCode.BannedOrThrottled,
        `unstaked ${ent.kind} ${ent.address} already has ${count} ops in the mempool (allowed ${allowed}); stake to raise the limit`,
      )
    }
  }

  let evicts: PoolEntry | undefined
  if (!replaces && pool.size >= s.maxPoolOps) {
    const worst = pool.fees.worst()
    if (worst && !pool.fees.ranksBefore(c, worst)) {
      throw invalid(
        `mempool is full (${pool.size} ops) and this op's effective tip ${pool.fees.tip(c)} does not beat the lowest pooled tip ${pool.fees.tip(worst)}`,
      )
    }
    evicts = worst
  }
  return { replaces, evicts }
}

function checkReplacementFees(c: PoolEntry, old: PoolEntry, pct: number): void {
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

function checkStatus(
  rep: Reputation,
  s: PoolSettings,
  address: `0x${string}`,
  role: string,
  opsInPool: number,
): void {
  const status = rep.status(address)
  if (status === 'banned') {
    throw new RpcError(RpcCode.BannedOrThrottled, `${role} ${address} is banned`, { [role]: address })
  }
  if (status === 'throttled' && opsInPool >= s.reputation.throttledEntityMempoolCount) {
    throw new RpcError(
      RpcCode.BannedOrThrottled,
      `${role} ${address} is throttled and already has ${opsInPool} ops in the mempool (limit ${s.reputation.throttledEntityMempoolCount})`,
      { [role]: address },
    )
  }
}

function invalid(message: string, data?: unknown): RpcError {
  return new RpcError(RpcCode.InvalidParams, message, data)
}
