import { type Hex, numberToHex, recoverPublicKey, type Signature } from 'viem'
import { SECP256K1_N } from './der.js'

/** Ethereum accepts only low-s signatures (EIP-2): s' = n − s flips the recovery bit, handled below. */
export function normalizeS(s: bigint): bigint {
  return s > SECP256K1_N / 2n ? SECP256K1_N - s : s
}

/**
 * KMS gives (r, s) without a recovery bit: try both parities and keep the one that recovers the key.
 * Returns undefined when neither does (a wrong key or a corrupt signature: never sign with a guess).
 */
export async function withRecoveryBit(
  hash: Hex,
  r: bigint,
  s: bigint,
  publicKey: Hex,
): Promise<Signature | undefined> {
  const lowS = normalizeS(s)
  const want = publicKey.toLowerCase()
  for (const yParity of [0, 1] as const) {
    const sig: Signature = {
      r: numberToHex(r, { size: 32 }),
      s: numberToHex(lowS, { size: 32 }),
      yParity,
    }
    try {
      const got = await recoverPublicKey({ hash, signature: sig })
      if (got.toLowerCase() === want) return sig
    } catch {
      // this parity has no valid point: try the other
    }
  }
  return undefined
}
