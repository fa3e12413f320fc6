import { RpcCode, RpcError } from '../../util/errors.js'
import { checkReplacementFees, refuse } from '../admission-errors.js'
import { secondAuthorization } from '../eip7702-rules.js'
import { type PoolEntry, toEntry } from '../entry.js'
import type { PoolSettings } from '../settings.js'
import { decodePoolOp, encodePoolOp } from './codec.js'
import type { ReputationStore } from './reputation-store.js'
import { type EntryPointStore, metaOf } from './store.js'

type Reply = [string, ...(string | number)[]]

/** Bounded: each retry means another admission changed exactly what this one depends on. */
const MAX_ATTEMPTS = 8

/**
 * Admits a validated op through the admission script: the rules are checked and applied in one
 * step in Redis. What needs exact bigint fee arithmetic (the replacement's +N %, whether the op beats
 * the lowest pooled tip) is decided here, and the script re-checks that the pool still holds what the
 * decision was made on. Returns the hash of the op evicted to make room, if any.
 */
export async function admit(
  store: EntryPointStore,
  rep: ReputationStore,
  c: PoolEntry,
  s: PoolSettings,
): Promise<string | undefined> {
  const op = c.op.op
  const payload = encodePoolOp(c.op)
  const meta = metaOf(c)
  const roles = JSON.stringify({
    s: { k: c.senderKey, l: rep.listed(c.senderKey), st: c.senderStaked },
    e: c.entities.map((e) => ({ k: e.key, l: rep.listed(e.key), st: e.staked })),
  })
  let expectReplace = ''
  let evict = ''
  const role = (i: number) => {
    const ent = c.entities[i - 1]
    return ent ? { role: ent.kind, address: ent.address } : { role: 'sender', address: op.sender }
  }
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const r = (await store.run(
      'conveyorPoolAdmit',
      c.hashKey,
      payload,
      meta,
      roles,
      expectReplace,
      evict,
    )) as Reply
    const n = (i: number) => Number(r[i])
    switch (r[0]) {
      case 'OK':
        return evict || undefined
      case 'DUP':
        throw refuse.alreadyPooled(c.op.hash)
      case 'REPLACE': {
        const old = toEntry(decodePoolOp(String(r[2]), 0), s.numShards, 0n)
        checkReplacementFees(c, old, s.replacementFeePercentIncrease)
        expectReplace = String(r[1])
        break
      }
      case 'CONFLICT':
        expectReplace = ''
        evict = ''
        break
      case 'AUTH_PER_SENDER':
        throw secondAuthorization(op.sender, String(r[1]))
      case 'SENDER_IS_ENTITY':
        throw refuse.senderIsEntity(op.sender)
      case 'ENTITY_IS_SENDER': {
        const x = role(n(1))
        throw refuse.entityIsSender(x.role, x.address)
      }
      case 'BANNED': {
        const x = role(n(1))
        throw refuse.banned(x.role, x.address)
      }
      case 'THROTTLED': {
        const x = role(n(1))
        throw refuse.throttled(x.role, x.address, n(2), s.reputation.throttledEntityMempoolCount)
      }
      case 'SENDER_LIMIT':
        throw refuse.senderLimit(op.sender, n(1), n(2), n(3) === 1)
      case 'ENTITY_LIMIT': {
        const x = role(n(1))
        throw refuse.entityLimit(x.role, x.address, n(2), n(3))
      }
      case 'FULL': {
        const [worst, base] = await Promise.all([store.worst(), store.baseFee()])
        if (!worst) break
        const tip = (prio: bigint, maxFee: bigint) => (maxFee - base < prio ? maxFee - base : prio)
        const mine = tip(op.maxPriorityFeePerGas, op.maxFeePerGas)
        const lowest = tip(worst.op.maxPriorityFeePerGas, worst.op.maxFeePerGas)
        // The candidate arrives last, so it must pay strictly more than the lowest pooled op.
        if (mine <= lowest) throw refuse.full(n(1), mine, lowest)
        evict = worst.hash.toLowerCase()
        break
      }
      default:
        throw new Error(`unexpected admission reply ${String(r[0])}`)
    }
  }
  throw new RpcError(
    RpcCode.InternalError,
    'admission kept conflicting with concurrent admissions; try again',
  )
}
