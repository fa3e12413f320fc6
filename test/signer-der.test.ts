import { createHash, generateKeyPairSync, sign as nodeSign } from 'node:crypto'
import fc from 'fast-check'
import { bytesToHex, type Hex, hexToBytes, recoverAddress } from 'viem'
import { privateKeyToAccount, publicKeyToAddress, sign } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { DerError, parseEcdsaSignature, parseSpkiSecp256k1, SECP256K1_N } from '../src/builder/signer/der.js'
import { addressFromPublicKey } from '../src/builder/signer/kms.js'
import { normalizeS, withRecoveryBit } from '../src/builder/signer/recover.js'
import { derSignature, spkiDer } from './support/kms-server.js'

const HALF_N = SECP256K1_N / 2n

function opensslKey() {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'secp256k1' })
  const jwk = publicKey.export({ format: 'jwk' })
  const point =
    `0x04${Buffer.from(jwk.x as string, 'base64url').toString('hex')}${Buffer.from(jwk.y as string, 'base64url').toString('hex')}` as Hex
  return { publicKey, privateKey, point }
}

describe('DER parsing against an independent encoder (OpenSSL via node:crypto)', () => {
  it('reads the SPKI point and the ECDSA (r, s) that OpenSSL produces, and recovers the key', async () => {
    for (let i = 0; i < 20; i++) {
      const k = opensslKey()
      const spki = k.publicKey.export({ type: 'spki', format: 'der' })
      expect(bytesToHex(parseSpkiSecp256k1(spki))).toBe(k.point)
      const data = Buffer.from(`message ${i}`)
      const der = nodeSign('sha256', data, k.privateKey) // DER, s not normalized by OpenSSL
      const { r, s } = parseEcdsaSignature(der)
      const digest = bytesToHex(createHash('sha256').update(data).digest())
      const sig = await withRecoveryBit(digest, r, s, k.point)
      expect(sig).toBeDefined()
      expect(BigInt(sig?.s as Hex)).toBeLessThanOrEqual(HALF_N)
      expect(await recoverAddress({ hash: digest, signature: sig as never })).toBe(
        publicKeyToAddress(k.point),
      )
    }
  })

  it('address = last 20 bytes of keccak of the point', () => {
    const pk = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d'
    const account = privateKeyToAccount(pk)
    expect(addressFromPublicKey(bytesToHex(parseSpkiSecp256k1(spkiDer(pk))))).toBe(account.address)
  })

  it('property: any digest, key and choice of high or low s round-trips to a low-s signature that recovers', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.bigInt({ min: 1n, max: SECP256K1_N - 1n }),
        fc.boolean(),
        async (digestBytes, d, high) => {
          const privateKey = `0x${d.toString(16).padStart(64, '0')}` as Hex
          const hash = bytesToHex(digestBytes)
          const ref = await sign({ hash, privateKey })
          const s = high ? SECP256K1_N - BigInt(ref.s) : BigInt(ref.s)
          const parsed = parseEcdsaSignature(derSignature(BigInt(ref.r), s))
          expect(parsed).toEqual({ r: BigInt(ref.r), s })
          const account = privateKeyToAccount(privateKey)
          const sig = await withRecoveryBit(hash, parsed.r, parsed.s, account.publicKey)
          expect(sig?.s).toBe(ref.s)
          expect(sig?.yParity).toBe(ref.yParity)
        },
      ),
      { numRuns: 60 },
    )
  })

  it('normalizeS maps to the low half and is idempotent', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: SECP256K1_N - 1n }), (s) => {
        const low = normalizeS(s)
        expect(low).toBeLessThanOrEqual(HALF_N)
        expect(low === s || low === SECP256K1_N - s).toBe(true)
        expect(normalizeS(low)).toBe(low)
      }),
    )
  })

  it('a signature from another key recovers to nothing: never a guessed recovery bit', async () => {
    const hash = bytesToHex(new Uint8Array(32).fill(7))
    const a = await sign({ hash, privateKey: `0x${'11'.repeat(32)}` })
    const other = privateKeyToAccount(`0x${'22'.repeat(32)}`).publicKey
    expect(await withRecoveryBit(hash, BigInt(a.r), BigInt(a.s), other)).toBeUndefined()
  })

  it('rejects malformed DER with DerError', () => {
    const good = derSignature(5n, 7n)
    const bad: [string, Uint8Array][] = [
      ['truncated', good.subarray(0, good.length - 1)],
      ['trailing byte', Buffer.concat([good, Buffer.from([0])])],
      ['not a sequence', Buffer.from([0x31, ...good.subarray(1)])],
      ['negative r', hexToBytes('0x3006020180020107')],
      ['non-minimal r', hexToBytes('0x300702020005020107')],
      ['r = 0', hexToBytes('0x3006020100020107')],
      ['s ≥ n', derSignature(5n, SECP256K1_N)],
      ['three integers', hexToBytes('0x3009020105020107020101')],
    ]
    for (const [, der] of bad) expect(() => parseEcdsaSignature(der)).toThrow(DerError)

    const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
      type: 'spki',
      format: 'der',
    })
    expect(() => parseSpkiSecp256k1(p256)).toThrow(/curve is not secp256k1/)
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({
      type: 'spki',
      format: 'der',
    })
    expect(() => parseSpkiSecp256k1(rsa)).toThrow(/not an EC public key/)
    const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey.export({
      type: 'spki',
      format: 'der',
    })
    const spki = Buffer.from(k1)
    expect(() => parseSpkiSecp256k1(spki.subarray(0, spki.length - 1))).toThrow(DerError) // truncated
    expect(() => parseSpkiSecp256k1(Buffer.concat([spki, Buffer.from([0])]))).toThrow(DerError) // trailing
  })
})
