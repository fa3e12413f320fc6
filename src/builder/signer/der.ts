/**
 * The two DER shapes KMS returns for secp256k1 keys, parsed strictly: an SPKI public key and an
 * ECDSA signature. Pure functions over bytes; any deviation throws DerError.
 */
export class DerError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'DerError'
  }
}

const TAG_INTEGER = 0x02
const TAG_BIT_STRING = 0x03
const TAG_OID = 0x06
const TAG_SEQUENCE = 0x30

// 1.2.840.10045.2.1 (id-ecPublicKey) and 1.3.132.0.10 (secp256k1), content bytes only.
const OID_EC_PUBLIC_KEY = '2a8648ce3d0201'
const OID_SECP256K1 = '2b8104000a'

export const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n

interface Tlv {
  tag: number
  /** Content start and end (exclusive). */
  start: number
  end: number
}

function readTlv(buf: Uint8Array, offset: number, limit: number): Tlv {
  if (offset + 2 > limit) throw new DerError('truncated DER element')
  const tag = buf[offset] as number
  let len = buf[offset + 1] as number
  let start = offset + 2
  if (len & 0x80) {
    const n = len & 0x7f
    // Definite lengths only, at most 2 length bytes (nothing here is longer than 64 KiB).
    if (n === 0 || n > 2) throw new DerError('unsupported DER length encoding')
    if (start + n > limit) throw new DerError('truncated DER length')
    len = 0
    for (let i = 0; i < n; i++) len = (len << 8) | (buf[start + i] as number)
    if (len < 0x80) throw new DerError('non-minimal DER length')
    start += n
  }
  const end = start + len
  if (end > limit) throw new DerError('DER element overruns its container')
  return { tag, start, end }
}

function expectTag(t: Tlv, tag: number, what: string): void {
  if (t.tag !== tag)
    throw new DerError(`expected ${what} (tag 0x${tag.toString(16)}), got 0x${t.tag.toString(16)}`)
}

function hex(buf: Uint8Array, start: number, end: number): string {
  return Buffer.from(buf.subarray(start, end)).toString('hex')
}

/** SPKI DER of a secp256k1 key → the 65-byte uncompressed point (0x04 ‖ X ‖ Y). */
export function parseSpkiSecp256k1(der: Uint8Array): Uint8Array {
  const outer = readTlv(der, 0, der.length)
  expectTag(outer, TAG_SEQUENCE, 'SubjectPublicKeyInfo SEQUENCE')
  if (outer.end !== der.length) throw new DerError('trailing bytes after SubjectPublicKeyInfo')
  const alg = readTlv(der, outer.start, outer.end)
  expectTag(alg, TAG_SEQUENCE, 'AlgorithmIdentifier SEQUENCE')
  const algOid = readTlv(der, alg.start, alg.end)
  expectTag(algOid, TAG_OID, 'algorithm OID')
  if (hex(der, algOid.start, algOid.end) !== OID_EC_PUBLIC_KEY)
    throw new DerError('key is not an EC public key')
  const curveOid = readTlv(der, algOid.end, alg.end)
  expectTag(curveOid, TAG_OID, 'curve OID')
  if (hex(der, curveOid.start, curveOid.end) !== OID_SECP256K1)
    throw new DerError('key curve is not secp256k1')
  const bits = readTlv(der, alg.end, outer.end)
  expectTag(bits, TAG_BIT_STRING, 'public key BIT STRING')
  if (bits.end !== outer.end) throw new DerError('trailing bytes in SubjectPublicKeyInfo')
  if (der[bits.start] !== 0) throw new DerError('public key BIT STRING has unused bits')
  const point = der.subarray(bits.start + 1, bits.end)
  if (point.length !== 65 || point[0] !== 0x04) throw new DerError('public key is not an uncompressed point')
  return Uint8Array.from(point)
}

function readInteger(der: Uint8Array, t: Tlv, what: string): bigint {
  expectTag(t, TAG_INTEGER, what)
  const len = t.end - t.start
  if (len === 0) throw new DerError(`${what} is empty`)
  const first = der[t.start] as number
  if (first & 0x80) throw new DerError(`${what} is negative`)
  if (first === 0 && len > 1 && !((der[t.start + 1] as number) & 0x80)) {
    throw new DerError(`${what} has a non-minimal encoding`)
  }
  if (len > 33) throw new DerError(`${what} is too long`)
  const v = BigInt(`0x${hex(der, t.start, t.end)}`)
  if (v === 0n || v >= SECP256K1_N) throw new DerError(`${what} is out of range`)
  return v
}

/** ECDSA-Sig-Value DER → (r, s) as returned, s not yet normalized. */
export function parseEcdsaSignature(der: Uint8Array): { r: bigint; s: bigint } {
  const seq = readTlv(der, 0, der.length)
  expectTag(seq, TAG_SEQUENCE, 'signature SEQUENCE')
  if (seq.end !== der.length) throw new DerError('trailing bytes after signature')
  const rT = readTlv(der, seq.start, seq.end)
  const r = readInteger(der, rT, 'r')
  const sT = readTlv(der, rT.end, seq.end)
  const s = readInteger(der, sT, 's')
  if (sT.end !== seq.end) throw new DerError('trailing bytes in signature SEQUENCE')
  return { r, s }
}
