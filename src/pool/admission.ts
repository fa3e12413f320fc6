import { checkReplacementFees, refuse } from './admission-errors.js'
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
 * same synchronous step, so admission is all-or-nothing. (The Redis pool checks the same rules in
 * one Lua script: redis/lua-mempool.ts.)
 */
export function planAdmission(c: PoolEntry, pool: Mempool, rep: Reputation, s: PoolSettings): AdmissionPlan {
  const op = c.op.op
  if (pool.get(c.hashKey)) throw refuse.alreadyPooled(c.op.hash)

  const replaces = pool.at(c.senderKey, c.nonce)
  if (replaces) checkReplacementFees(c, replaces, s.replacementFeePercentIncrease)
  checkOneAuthorizationPerSender(c, pool, replaces)

  // An address is a sender in one op or an entity in others, never both (ERC-7562 STO-040 family).
  if (pool.entityCount(c.senderKey) > 0) throw refuse.senderIsEntity(op.sender)
  for (const ent of c.entities) {
    if (pool.senderCount(ent.key) > 0) throw refuse.entityIsSender(ent.kind, ent.address)
  }

  // Counts as they will be once the replaced op is gone.
  const senderOps = pool.senderCount(c.senderKey) - (replaces ? 1 : 0)
  const entityOps = (key: string) =>
    pool.entityCount(key) - (replaces?.entities.some((e) => e.key === key) ? 1 : 0)

  checkStatus(rep, s, op.sender, 'sender', senderOps)
  for (const ent of c.entities) checkStatus(rep, s, ent.address, ent.kind, entityOps(ent.key))

  const senderExempt = c.senderStaked || rep.isAllowlisted(op.sender)
  const senderLimit = senderExempt ? s.maxOpsPerStakedSender : s.maxOpsPerUnstakedSender
  if (senderOps >= senderLimit) throw refuse.senderLimit(op.sender, senderOps, senderLimit, senderExempt)
  for (const ent of c.entities) {
    if (ent.staked || rep.isAllowlisted(ent.address)) continue
    const allowed = rep.unstakedOpsAllowed(ent.address)
    const count = entityOps(ent.key)
    if (count >= allowed) throw refuse.entityLimit(ent.kind, ent.address, count, allowed)
  }

  let evicts: PoolEntry | undefined
  if (!replaces && pool.size >= s.maxPoolOps) {
    const worst = pool.fees.worst()
    if (worst && !pool.fees.ranksBefore(c, worst)) {
      throw refuse.full(pool.size, pool.fees.tip(c), pool.fees.tip(worst))
    }
    evicts = worst
  }
  return { replaces, evicts }
}

function checkStatus(
  rep: Reputation,
  s: PoolSettings,
  address: `0x${string}`,
  role: string,
  opsInPool: number,
): void {
  const status = rep.status(address)
  if (status === 'banned') throw refuse.banned(role, address)
  if (status === 'throttled' && opsInPool >= s.reputation.throttledEntityMempoolCount) {
    throw refuse.throttled(role, address, opsInPool, s.reputation.throttledEntityMempoolCount)
  }
}
