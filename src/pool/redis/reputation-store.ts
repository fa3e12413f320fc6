import { type Address, getAddress } from 'viem'
import type { ReputationSettings } from '../settings.js'
import type { ReputationEntry, ReputationStatus } from '../types.js'
import { k } from './keys.js'
import type { EntryPointStore } from './store.js'

/**
 * One EntryPoint's ERC-7562 reputation in Redis (counters per lowercase address). Writes go through
 * the reputation script, which keeps the throttled set current; the status arithmetic is the same as
 * the in-memory Reputation's, with the allow and block lists applied here.
 */
export class ReputationStore {
  private readonly allow: Set<string>
  private readonly block: Set<string>

  constructor(
    private readonly store: EntryPointStore,
    private readonly s: ReputationSettings,
  ) {
    this.allow = new Set(s.allowlist.map((a) => a.toLowerCase()))
    this.block = new Set(s.blocklist.map((a) => a.toLowerCase()))
  }

  /** 'a' allowlisted, 'b' blocklisted, '' neither: what the scripts need to know of an address. */
  listed(address: string): '' | 'a' | 'b' {
    const a = address.toLowerCase()
    return this.block.has(a) ? 'b' : this.allow.has(a) ? 'a' : ''
  }

  status(address: string, opsSeen: number, opsIncluded: number): ReputationStatus {
    const l = this.listed(address)
    if (l === 'b') return 'banned'
    if (l === 'a') return 'ok'
    const minExpected = Math.floor(opsSeen / this.s.minInclusionRateDenominator)
    if (minExpected <= opsIncluded + this.s.throttlingSlack) return 'ok'
    if (minExpected <= opsIncluded + this.s.banSlack) return 'throttled'
    return 'banned'
  }

  async write(op: 'seen_dec' | 'staked' | 'unstaked', addresses: string[]): Promise<void> {
    if (addresses.length === 0) return
    await this.store.run('conveyorPoolReputation', op, ...addresses.map((a) => a.toLowerCase()))
  }

  async set(entries: ReputationEntry[]): Promise<void> {
    const args: (string | number)[] = []
    for (const e of entries) {
      if (
        !Number.isSafeInteger(e.opsSeen) ||
        e.opsSeen < 0 ||
        !Number.isSafeInteger(e.opsIncluded) ||
        e.opsIncluded < 0
      ) {
        throw new RangeError(`reputation counters of ${e.address} must be non-negative integers`)
      }
      args.push(e.address.toLowerCase(), e.opsSeen, e.opsIncluded)
    }
    if (args.length > 0) await this.store.run('conveyorPoolReputation', 'set', ...args)
  }

  /** Multiplies the counters by 23/24, at most once per interval across every process. */
  async decay(): Promise<void> {
    await this.store.run(
      'conveyorPoolReputation',
      'decay',
      Math.max(1, Math.floor(this.s.decayIntervalMs * 0.9)),
    )
  }

  /** Throttled addresses (neither allow- nor blocklisted). */
  async throttled(): Promise<Address[]> {
    const all = await this.store.redis.smembers(k.throttled(this.store.prefix))
    return all.filter((a) => this.listed(a) === '').map((a) => getAddress(a))
  }

  async dump(): Promise<ReputationEntry[]> {
    const p = this.store.prefix
    const [seen, inc] = await Promise.all([
      this.store.redis.hgetall(k.repSeen(p)),
      this.store.redis.hgetall(k.repIncluded(p)),
    ])
    return [...new Set([...Object.keys(seen), ...Object.keys(inc)])].map((a) => {
      const opsSeen = Number(seen[a] ?? 0)
      const opsIncluded = Number(inc[a] ?? 0)
      return { address: getAddress(a), opsSeen, opsIncluded, status: this.status(a, opsSeen, opsIncluded) }
    })
  }

  async clear(): Promise<void> {
    const p = this.store.prefix
    await this.store.redis.del(k.repSeen(p), k.repIncluded(p), k.throttled(p))
  }
}
