import { type Address, getAddress, pad, toHex } from 'viem'
import { describe, expect, it } from 'vitest'
import { Reputation } from '../src/pool/reputation.js'
import { DEFAULT_REPUTATION_SETTINGS, type ReputationSettings } from '../src/pool/settings.js'

const addr = (n: number): Address => getAddress(pad(toHex(n), { size: 20 }))
const rep = (over: Partial<ReputationSettings> = {}) =>
  new Reputation({ ...DEFAULT_REPUTATION_SETTINGS, ...over })

describe('ERC-7562 reputation', () => {
  it('goes OK → THROTTLED → BANNED exactly at the slack thresholds (denominator 10, slack 10 / 50)', () => {
    const r = rep()
    const a = addr(1)
    expect(r.status(a)).toBe('ok') // never seen
    const at = (opsSeen: number, opsIncluded = 0) => {
      r.set([{ address: a, opsSeen, opsIncluded }])
      return r.status(a)
    }
    expect(at(109)).toBe('ok') // floor(109/10) = 10 ≤ 0 + 10
    expect(at(110)).toBe('throttled') // 11 > 10
    expect(at(509)).toBe('throttled') // 50 ≤ 0 + 50
    expect(at(510)).toBe('banned') // 51 > 50
    expect(at(510, 1)).toBe('throttled')
    expect(at(510, 41)).toBe('ok')
    // A client (relaying-only) denominator of 100 is a setting.
    const client = rep({ minInclusionRateDenominator: 100 })
    client.set([{ address: a, opsSeen: 1099, opsIncluded: 0 }])
    expect(client.status(a)).toBe('ok')
  })

  it('counts seen and included, and moves with them', () => {
    const r = rep()
    const a = addr(2)
    for (let i = 0; i < 110; i++) r.addSeen(a)
    expect(r.get(a)).toMatchObject({ opsSeen: 110, opsIncluded: 0, status: 'throttled' })
    r.addIncluded(a)
    expect(r.status(a)).toBe('ok')
    r.removeIncluded(a)
    expect(r.status(a)).toBe('throttled')
    r.decrementSeen(a)
    expect(r.get(a).opsSeen).toBe(109)
    expect(r.status(a)).toBe('ok')
  })

  it('decays both counters by 23/24 (rounding down) and forgets entries that reach zero', () => {
    const r = rep()
    r.set([
      { address: addr(3), opsSeen: 240, opsIncluded: 48 },
      { address: addr(4), opsSeen: 1, opsIncluded: 0 },
    ])
    r.decay()
    expect(r.get(addr(3))).toMatchObject({ opsSeen: 230, opsIncluded: 46 })
    expect(r.dump().map((e) => e.address)).toEqual([addr(3)]) // 1·23/24 → 0
    // A throttled entity recovers with time alone: 110 seen → after one decay 105 → ok.
    r.set([{ address: addr(5), opsSeen: 110, opsIncluded: 0 }])
    expect(r.status(addr(5))).toBe('throttled')
    r.decay()
    expect(r.status(addr(5))).toBe('ok')
  })

  it('applies SREP-050 (set to the ban penalty) and UREP-030 (add the unstaked penalty)', () => {
    const r = rep()
    r.set([{ address: addr(6), opsSeen: 5, opsIncluded: 5 }])
    r.penalizeStaked(addr(6))
    expect(r.get(addr(6))).toMatchObject({ opsSeen: 10_000, opsIncluded: 0, status: 'banned' })
    r.set([{ address: addr(7), opsSeen: 5, opsIncluded: 5 }])
    r.penalizeUnstaked(addr(7))
    expect(r.get(addr(7))).toMatchObject({ opsSeen: 1005, opsIncluded: 5, status: 'banned' })
  })

  it('grants unstaked entities SAME_UNSTAKED_ENTITY_MEMPOOL_COUNT plus their inclusion record', () => {
    const r = rep()
    expect(r.unstakedOpsAllowed(addr(8))).toBe(10)
    r.set([{ address: addr(8), opsSeen: 20, opsIncluded: 10 }])
    // 10 + floor(10·10/20) + min(10, 10000)
    expect(r.unstakedOpsAllowed(addr(8))).toBe(25)
  })

  it('allowlisted addresses are always OK, blocklisted always BANNED', () => {
    const r = rep({ allowlist: [addr(9)], blocklist: [addr(10)] })
    r.set([{ address: addr(9), opsSeen: 1_000_000, opsIncluded: 0 }])
    expect(r.status(addr(9))).toBe('ok')
    expect(r.isAllowlisted(addr(9))).toBe(true)
    expect(r.status(addr(10))).toBe('banned')
    expect(() => r.set([{ address: addr(11), opsSeen: -1, opsIncluded: 0 }])).toThrow(RangeError)
  })
})
