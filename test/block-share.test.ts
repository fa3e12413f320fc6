import { describe, expect, it } from 'vitest'
import { BlockShare } from '../src/builder/block-share.js'

const G = 30_000_000n

describe('block share of N senders', () => {
  it('no cap with one sender, or before any bundle was mined', () => {
    const one = new BlockShare(1)
    one.record(10_000_000n, 6_000_000n)
    expect(one.cap(G)).toBeUndefined()
    expect(new BlockShare(4).cap(G)).toBeUndefined()
  })

  it('caps the limit so that N bundles like the fullest recent one fit: L + (N − 1)·used/limit·L ≤ G', () => {
    const share = new BlockShare(4)
    share.record(11_500_000n, 6_500_000n) // the bench's bundles: 3 fit in 30M, the 4th did not
    const cap = share.cap(G) as bigint
    expect(cap).toBe((G * 11_500_000n) / (11_500_000n + 3n * 6_500_000n))
    // Four bundles at the cap: three use their share, the fourth's limit fits what is left.
    const used = (cap * 6_500_000n) / 11_500_000n
    expect(cap + 3n * used).toBeLessThanOrEqual(G)
    expect(cap).toBeLessThan(11_500_000n)
  })

  it('takes the fullest of the recent bundles, forgets the old ones, ignores impossible receipts', () => {
    const share = new BlockShare(2)
    share.record(10_000_000n, 9_000_000n) // 90 % full
    share.record(10_000_000n, 5_000_000n)
    expect(share.cap(G)).toBe((G * 10n) / 19n)
    share.record(10_000_000n, 11_000_000n) // used above its limit: not a receipt of this bundle
    share.record(0n, 0n)
    expect(share.cap(G)).toBe((G * 10n) / 19n)
    for (let i = 0; i < 16; i++) share.record(10_000_000n, 5_000_000n)
    expect(share.cap(G)).toBe((G * 10n) / 15n)
  })

  it('counts a mined transaction only when it is a bundle it was told was sent, once', () => {
    const share = new BlockShare(2)
    share.mined('0xaa', 5_000_000n) // not a bundle of ours (a cancellation, say)
    expect(share.cap(G)).toBeUndefined()
    share.sent('0xBB', 10_000_000n)
    share.mined('0xbb', undefined) // no receipt gas: nothing learned, still remembered
    expect(share.cap(G)).toBeUndefined()
    share.mined('0xbb', 5_000_000n)
    expect(share.cap(G)).toBe((G * 10n) / 15n)
  })
})
