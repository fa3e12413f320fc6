import { randomBytes } from 'node:crypto'
import { ecrecover } from '@ethereumjs/util'
import { hexToBytes, keccak256, numberToBytes, toBytes } from 'viem'
import { generatePrivateKey, privateKeyToAddress, sign } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { fastEcrecover } from '../src/sim/tracer/native/ecrecover.js'

/** secp256k1's group order. */
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
const word = (n: bigint) => numberToBytes(n, { size: 32 })

/** Both recoveries on one input: the same key, or both refusing. */
function agree(h: Uint8Array, v: bigint, r: Uint8Array, s: Uint8Array): 'key' | 'none' {
  const reference = attempt(() => ecrecover(h, v, r, s))
  const ours = attempt(() => fastEcrecover(h, v, r, s))
  expect(ours).toEqual(reference)
  return reference === undefined ? 'none' : 'key'
}
function attempt(f: () => Uint8Array): string | undefined {
  try {
    return Buffer.from(f()).toString('hex')
  } catch {
    return undefined
  }
}

describe('ecrecover on libsecp256k1 (the replay precompile) against @ethereumjs/util', () => {
  it('recovers the signer of real signatures, with low and high s', async () => {
    for (let i = 0; i < 20; i++) {
      const privateKey = generatePrivateKey()
      const hash = keccak256(toBytes(`message ${i}`))
      const sig = await sign({ hash, privateKey })
      const h = hexToBytes(hash)
      const v = 27n + BigInt(sig.yParity ?? 0)
      const r = hexToBytes(sig.r)
      const s = hexToBytes(sig.s)
      expect(agree(h, v, r, s)).toBe('key')
      const key = fastEcrecover(h, v, r, s)
      expect(`0x${keccak256(key).slice(-40)}`).toBe(privateKeyToAddress(privateKey).toLowerCase())
      // The precompile takes a high s too: the same key with the other recovery id.
      const high = word(N - BigInt(sig.s))
      const flipped = v === 27n ? 28n : 27n
      expect(agree(h, flipped, r, high)).toBe('key')
      expect(fastEcrecover(h, flipped, r, high)).toEqual(key)
    }
  })

  it('refuses what recovers nothing exactly where the reference does', () => {
    const h = new Uint8Array(randomBytes(32))
    const one = word(1n)
    expect(agree(h, 27n, word(0n), one)).toBe('none')
    expect(agree(h, 27n, one, word(0n))).toBe('none')
    expect(agree(h, 27n, word(N), one)).toBe('none')
    expect(agree(h, 28n, one, word(N))).toBe('none')
    expect(() => fastEcrecover(h, 29n, one, one)).toThrow()
    let keys = 0
    for (let i = 0; i < 200; i++) {
      const v = i % 2 === 0 ? 27n : 28n
      if (
        agree(
          new Uint8Array(randomBytes(32)),
          v,
          new Uint8Array(randomBytes(32)),
          new Uint8Array(randomBytes(32)),
        ) === 'key'
      )
        keys += 1
    }
    // Random r is an x on the curve about half the time: both outcomes were compared.
    expect(keys).toBeGreaterThan(50)
    expect(keys).toBeLessThan(150)
  })
})
