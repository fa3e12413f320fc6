import { type Address, getAddress } from 'viem'
import type { ReputationSettings } from './settings.js'
import type { ReputationEntry, ReputationStatus } from './types.js'

interface Counts {
  address: Address
  opsSeen: number
  opsIncluded: number
}

const key = (a: Address): string => a.toLowerCase()

/**
 * ERC-7562 entity reputation for one EntryPoint: opsSeen / opsIncluded per address, the status they
 * imply, and the unstaked-entity allowance. Pure bookkeeping; the pool decides when to call what.
 */
export class Reputation {
  private readonly counts = new Map<string, Counts>()
  private readonly allow: Set<string>
  private readonly block: Set<string>

  constructor(private readonly s: ReputationSettings) {
    this.allow = new Set(s.allowlist.map(key))
    this.block = new Set(s.blocklist.map(key))
  }

  isAllowlisted(address: Address): boolean {
    return this.allow.has(key(address))
  }

  /**
   * OK while opsSeen / MIN_INCLUSION_RATE_DENOMINATOR ≤ opsIncluded + THROTTLING_SLACK,
   * THROTTLED while it is ≤ opsIncluded + BAN_SLACK, BANNED beyond.
   */
  status(address: Address): ReputationStatus {
    const k = key(address)
    if (this.block.has(k)) return 'banned'
    if (this.allow.has(k)) return 'ok'
    const c = this.counts.get(k)
    if (!c) return 'ok'
    const minExpectedIncluded = Math.floor(c.opsSeen / this.s.minInclusionRateDenominator)
    if (minExpectedIncluded <= c.opsIncluded + this.s.throttlingSlack) return 'ok'
    if (minExpectedIncluded <= c.opsIncluded + this.s.banSlack) return 'throttled'
    return 'banned'
  }

  /**
   * UREP-020: ops an unstaked entity may have in the mempool:
   * SAME_UNSTAKED_ENTITY_MEMPOOL_COUNT + INCLUSION_RATE_FACTOR·included/seen + min(included, MAX).
   */
  unstakedOpsAllowed(address: Address): number {
    const c = this.counts.get(key(address))
    const seen = c?.opsSeen ?? 0
    const included = c?.opsIncluded ?? 0
    const inclusionBased =
      seen === 0
        ? 0
        : Math.floor((this.s.inclusionRateFactor * included) / seen) +
          Math.min(included, this.s.maxOpsAllowedUnstakedEntity)
    return this.s.sameUnstakedEntityMempoolCount + inclusionBased
  }

  addSeen(address: Address): void {
    this.entry(address).opsSeen++
  }

  /** The builder dropped a paymaster's op for a reason that is not the paymaster's fault. */
  decrementSeen(address: Address): void {
    const c = this.entry(address)
    c.opsSeen = Math.max(0, c.opsSeen - 1)
  }

  addIncluded(address: Address): void {
    this.entry(address).opsIncluded++
  }

  /** A reorg un-mined an op. */
  removeIncluded(address: Address): void {
    const c = this.entry(address)
    c.opsIncluded = Math.max(0, c.opsIncluded - 1)
  }

  /** SREP-050: a staked entity invalidated a bundle: opsSeen is set (not added) to the ban penalty. */
  penalizeStaked(address: Address): void {
    const c = this.entry(address)
    c.opsSeen = this.s.banOpsSeenPenalty
    c.opsIncluded = 0
  }

  /** UREP-030: an unstaked entity invalidated a bundle. */
  penalizeUnstaked(address: Address): void {
    this.entry(address).opsSeen += this.s.unstakedInvalidationOpsSeenPenalty
  }

  /** The hourly decay: both counters × 23/24, rounding down; entries reaching zero are forgotten. */
  decay(): void {
    for (const [k, c] of this.counts) {
      c.opsSeen = Math.floor((c.opsSeen * 23) / 24)
      c.opsIncluded = Math.floor((c.opsIncluded * 23) / 24)
      if (c.opsSeen === 0 && c.opsIncluded === 0) this.counts.delete(k)
    }
  }

  /** Addresses currently THROTTLED (without building a dump). */
  throttled(): Address[] {
    const out: Address[] = []
    for (const c of this.counts.values()) if (this.status(c.address) === 'throttled') out.push(c.address)
    return out
  }

  get(address: Address): ReputationEntry {
    const c = this.counts.get(key(address))
    return {
      address: getAddress(address),
      opsSeen: c?.opsSeen ?? 0,
      opsIncluded: c?.opsIncluded ?? 0,
      status: this.status(address),
    }
  }

  dump(): ReputationEntry[] {
    return [...this.counts.values()].map((c) => ({
      address: c.address,
      opsSeen: c.opsSeen,
      opsIncluded: c.opsIncluded,
      status: this.status(c.address),
    }))
  }

  /** debug_bundler_setReputation: counters as given (status is derived, never stored). */
  set(entries: ReputationEntry[]): void {
    for (const e of entries) {
      if (
        !Number.isSafeInteger(e.opsSeen) ||
        e.opsSeen < 0 ||
        !Number.isSafeInteger(e.opsIncluded) ||
        e.opsIncluded < 0
      ) {
        throw new RangeError(`reputation counters of ${e.address} must be non-negative integers`)
      }
      const c = this.entry(e.address)
      c.opsSeen = e.opsSeen
      c.opsIncluded = e.opsIncluded
    }
  }

  clear(): void {
    this.counts.clear()
  }

  private entry(address: Address): Counts {
    const k = key(address)
    let c = this.counts.get(k)
    if (!c) {
      c = { address: getAddress(address), opsSeen: 0, opsIncluded: 0 }
      this.counts.set(k, c)
    }
    return c
  }
}
