import { createHash } from 'node:crypto'
import { english } from 'viem/accounts'

const INDEX = new Map(english.map((w, i) => [w, i]))

/**
 * BIP-39 check (English list, word count, checksum). viem derives a seed from any string, so a typo
 * would silently yield a different, unfunded account: reject it instead.
 */
export function isValidMnemonic(phrase: string): boolean {
  const words = phrase.trim().split(/\s+/)
  if (![12, 15, 18, 21, 24].includes(words.length)) return false
  let bits = ''
  for (const w of words) {
    const i = INDEX.get(w)
    if (i === undefined) return false
    bits += i.toString(2).padStart(11, '0')
  }
  const csBits = words.length / 3
  const entBits = bits.length - csBits
  const entropy = Buffer.alloc(entBits / 8)
  for (let i = 0; i < entropy.length; i++) entropy[i] = Number.parseInt(bits.slice(i * 8, i * 8 + 8), 2)
  const hash = createHash('sha256').update(entropy).digest()
  const expected = [...hash]
    .map((b) => b.toString(2).padStart(8, '0'))
    .join('')
    .slice(0, csBits)
  return expected === bits.slice(entBits)
}
