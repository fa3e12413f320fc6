import type { Redis } from 'ioredis'
import type { Address, Hash } from 'viem'
import type { UserOperation } from '../../chain/userop.js'
import type { PoolEntry } from '../entry.js'
import type { PoolSettings } from '../settings.js'
import type { PoolOp } from '../types.js'
import { decodePoolOp } from './codec.js'
import { hashOfMember, k, nonceField, seqOfMember } from './keys.js'
import { APPLY_BLOCK, UNWIND_BLOCK } from './lua-chain.js'
import { ADMIT, MOVE_BASE, REMOVE, REPUTATION, SET_BASE_FEE } from './lua-mempool.js'

type Script = (prefix: string, ...args: (string | number)[]) => Promise<unknown>
export type PoolRedis = Redis & {
  conveyorPoolAdmit: Script
  conveyorPoolRemove: Script
  conveyorPoolBaseFee: Script
  conveyorPoolMoveBase: Script
  conveyorPoolReputation: Script
  conveyorPoolApplyBlock: Script
  conveyorPoolUnwindBlock: Script
}

/** Registers the pool's scripts on a connection (EVALSHA, loaded on first use). */
export function definePoolScripts(redis: Redis): PoolRedis {
  const scripts: [string, string][] = [
    ['conveyorPoolAdmit', ADMIT],
    ['conveyorPoolRemove', REMOVE],
    ['conveyorPoolBaseFee', SET_BASE_FEE],
    ['conveyorPoolMoveBase', MOVE_BASE],
    ['conveyorPoolReputation', REPUTATION],
    ['conveyorPoolApplyBlock', APPLY_BLOCK],
    ['conveyorPoolUnwindBlock', UNWIND_BLOCK],
  ]
  for (const [name, lua] of scripts) redis.defineCommand(name, { numberOfKeys: 1, lua })
  return redis as PoolRedis
}

/** The settings the scripts' reputation arithmetic and limits need, as JSON. */
export function scriptSettings(s: PoolSettings): string {
  const r = s.reputation
  return JSON.stringify({
    den: r.minInclusionRateDenominator,
    thrSlack: r.throttlingSlack,
    banSlack: r.banSlack,
    thrCount: r.throttledEntityMempoolCount,
    sameUnstaked: r.sameUnstakedEntityMempoolCount,
    incFactor: r.inclusionRateFactor,
    maxUnstakedEntity: r.maxOpsAllowedUnstakedEntity,
    banPenalty: r.banOpsSeenPenalty,
    unstakedPenalty: r.unstakedInvalidationOpsSeenPenalty,
    maxStaked: s.maxOpsPerStakedSender,
    maxUnstaked: s.maxOpsPerUnstakedSender,
    maxOps: s.maxPoolOps,
  })
}

/** What the scripts index an op by (decimal strings for fees: Redis parses scores exactly). */
export function metaOf(e: PoolEntry): string {
  return JSON.stringify({
    s: e.senderKey,
    n: nonceField(e.nonce),
    sh: e.shard,
    e: e.entities.map((x) => x.key),
    p: e.prio.toString(),
    f: e.maxFee.toString(),
    h: e.headroom.toString(),
    b: e.addedAtBlock.toString(),
    // Carries an EIP-7702 authorization: indexed in m:auth (one per sender, the per-block sweep).
    ...(e.op.op.eip7702Auth ? { a: 1 } : {}),
  })
}

/** Decoded ops kept per process (a few MB at most). */
const DECODED_CACHE = 4096

interface Queued {
  member: string
  tip: number
  seq: number
}

/** One EntryPoint's pool in Redis: reads, and the scripts that write. */
export class EntryPointStore {
  constructor(
    readonly redis: PoolRedis,
    readonly prefix: string,
    readonly entryPoint: Address,
    readonly settingsJson: string,
    readonly numShards: number,
  ) {}

  run(script: keyof Omit<PoolRedis, keyof Redis>, ...args: (string | number)[]): Promise<unknown> {
    return this.redis[script](this.prefix, this.settingsJson, ...args)
  }

  async has(hash: string): Promise<boolean> {
    return (await this.redis.hexists(k.meta(this.prefix), hash.toLowerCase())) === 1
  }

  async size(): Promise<number> {
    return this.redis.hlen(k.meta(this.prefix))
  }

  async get(hash: string): Promise<PoolOp | undefined> {
    const h = hash.toLowerCase()
    const [payload, meta] = await Promise.all([
      this.redis.hget(k.op(this.prefix), h),
      this.redis.hget(k.meta(this.prefix), h),
    ])
    if (!payload || !meta) return undefined
    return decodePoolOp(payload, seqOfMember((JSON.parse(meta) as { m: string }).m))
  }

  async baseFee(): Promise<bigint> {
    return BigInt((await this.redis.get(k.base(this.prefix))) ?? '0')
  }

  /** The pooled ops carrying an EIP-7702 authorization (the m:auth index). */
  async authorized(): Promise<{ hash: Hash; op: UserOperation }[]> {
    const hashes = await this.redis.smembers(k.auth(this.prefix))
    if (hashes.length === 0) return []
    const payloads = await this.redis.hmget(k.op(this.prefix), ...hashes)
    return payloads.flatMap((p) => (p ? [decodePoolOp(p, 0)] : [])).map((o) => ({ hash: o.hash, op: o.op }))
  }

  async remove(hashes: readonly string[]): Promise<number> {
    if (hashes.length === 0) return 0
    return Number(await this.run('conveyorPoolRemove', ...hashes.map((h) => h.toLowerCase())))
  }

  /**
   * Sets the base fee and moves every op whose group flips, a chunk per script call (`chunk` ops,
   * default the scripts' MOVE_CHUNK) so other clients' commands run in between.
   */
  async setBaseFee(baseFee: bigint, chunk?: number): Promise<void> {
    const limit = chunk === undefined ? [] : [chunk]
    if (Number(await this.run('conveyorPoolBaseFee', baseFee.toString(), ...limit)) === 1) return
    await this.finishBaseFee(chunk)
  }

  /**
   * Moves the remaining ops toward the latest target base fee (what APPLY_BLOCK or setBaseFee set),
   * until every op is in its group for it. Each call moves at least one headroom's ops, so this ends;
   * a newer target set meanwhile by another process is where the moves then go.
   */
  async finishBaseFee(chunk?: number): Promise<void> {
    const limit = chunk === undefined ? [] : [chunk]
    while (Number(await this.run('conveyorPoolMoveBase', ...limit)) !== 1) {}
  }

  /** Up to `max` ops of one shard, best tip first, ties by arrival: a merge of the shard's two queues. */
  async best(shard: number, max: number): Promise<PoolOp[]> {
    if (max === 0) return []
    const [pr, fr, br] = (await this.redis
      .multi()
      .zrevrange(k.queue(this.prefix, shard, 'p'), 0, max - 1, 'WITHSCORES')
      .zrevrange(k.queue(this.prefix, shard, 'f'), 0, max - 1, 'WITHSCORES')
      .get(k.base(this.prefix))
      .exec()) as [Error | null, string[]][]
    const base = Number(br?.[1] ?? '0')
    const a = queued(pr?.[1] ?? [], 0)
    const b = queued(fr?.[1] ?? [], base)
    const chosen: Queued[] = []
    let i = 0
    let j = 0
    while (chosen.length < max && (i < a.length || j < b.length)) {
      const x = a[i]
      const y = b[j]
      if (y === undefined || (x !== undefined && before(x, y))) {
        chosen.push(x as Queued)
        i++
      } else {
        chosen.push(y)
        j++
      }
    }
    if (chosen.length === 0) return []
    const missing = chosen.filter((c) => !this.decoded.has(c.member))
    if (missing.length > 0) {
      const payloads = await this.redis.hmget(
        k.op(this.prefix),
        ...missing.map((c) => hashOfMember(c.member)),
      )
      missing.forEach((c, n) => {
        const p = payloads[n]
        if (p) this.remember(c.member, decodePoolOp(p, c.seq)) // removed between the two reads: skipped
      })
    }
    const out: PoolOp[] = []
    for (const c of chosen) {
      const op = this.decoded.get(c.member)
      if (op) out.push(op)
    }
    return out
  }

  /**
   * Decoded ops by sort member. A member names one admission (hash and arrival number) and its
   * payload never changes, so the builder's repeated getOps decode each op once.
   */
  private readonly decoded = new Map<string, PoolOp>()

  private remember(member: string, op: PoolOp): void {
    this.decoded.set(member, op)
    if (this.decoded.size > DECODED_CACHE) {
      const oldest = this.decoded.keys().next().value
      if (oldest !== undefined) this.decoded.delete(oldest)
    }
  }

  /** The op ranking last in the whole pool (lowest tip, latest arrival among equals). */
  async worst(): Promise<PoolOp | undefined> {
    const m = this.redis.multi()
    for (let s = 0; s < this.numShards; s++) {
      m.zrevrange(k.queue(this.prefix, s, 'p'), -1, -1, 'WITHSCORES')
      m.zrevrange(k.queue(this.prefix, s, 'f'), -1, -1, 'WITHSCORES')
    }
    m.get(k.base(this.prefix))
    const res = (await m.exec()) as [Error | null, unknown][]
    const base = Number((res[res.length - 1]?.[1] as string | null) ?? '0')
    let worst: Queued | undefined
    res.slice(0, -1).forEach((r, n) => {
      const q = queued((r[1] as string[]) ?? [], n % 2 === 0 ? 0 : base)[0]
      if (q && (worst === undefined || before(worst, q))) worst = q
    })
    return worst ? this.get(hashOfMember(worst.member)) : undefined
  }

  /** Every pooled op, in arrival order. */
  async dump(): Promise<PoolOp[]> {
    const [ops, metas] = await Promise.all([
      this.redis.hgetall(k.op(this.prefix)),
      this.redis.hgetall(k.meta(this.prefix)),
    ])
    const out: PoolOp[] = []
    for (const [h, payload] of Object.entries(ops)) {
      const meta = metas[h]
      if (meta) out.push(decodePoolOp(payload, seqOfMember((JSON.parse(meta) as { m: string }).m)))
    }
    return out.sort((x, y) => x.seq - y.seq)
  }

  /** Ops referencing `address` as sender, factory, paymaster or aggregator, with their admission block. */
  async involving(address: string): Promise<{ hash: Hash; addedAtBlock: bigint }[]> {
    const a = address.toLowerCase()
    const [asEntity, asSender] = await Promise.all([
      this.redis.smembers(k.entity(this.prefix, a)),
      this.redis.hvals(k.sender(this.prefix, a)),
    ])
    const hashes = [...new Set([...asEntity, ...asSender])]
    if (hashes.length === 0) return []
    const metas = await this.redis.hmget(k.meta(this.prefix), ...hashes)
    const out: { hash: Hash; addedAtBlock: bigint }[] = []
    hashes.forEach((h, n) => {
      const m = metas[n]
      if (m) out.push({ hash: h as Hash, addedAtBlock: BigInt((JSON.parse(m) as { b: string }).b) })
    })
    return out
  }

  /** Deletes the mempool's keys (not reputation or chain state). */
  async clear(): Promise<void> {
    let cursor = '0'
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${this.prefix}:m:*`, 'COUNT', 1000)
      cursor = next
      if (keys.length > 0) await this.redis.del(...keys)
    } while (cursor !== '0')
  }
}

/** A WITHSCORES reply as queue items; the tip is the score less `minus` (the base fee for the fee-bound queue). */
function queued(reply: string[], minus: number): Queued[] {
  const out: Queued[] = []
  for (let i = 0; i + 1 < reply.length; i += 2) {
    const member = reply[i] as string
    out.push({ member, tip: Number(reply[i + 1]) - minus, seq: seqOfMember(member) })
  }
  return out
}

const before = (x: Queued, y: Queued): boolean => x.tip > y.tip || (x.tip === y.tip && x.seq < y.seq)
