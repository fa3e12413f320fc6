import { type Hex, isHex, type TransactionSerializable } from 'viem'
import { mnemonicToAccount, privateKeyToAccount } from 'viem/accounts'
import { isValidMnemonic } from './bip39.js'
import { SignerConfigError } from './errors.js'
import { assertSignable, type TxPolicy } from './tx.js'
import type { Signer } from './types.js'

type LocalAccount = ReturnType<typeof privateKeyToAccount>

// secp256k1 group order: a private key must be in [1, n).
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n

/** A signer over a key held in memory. The account lives in a private field so it never serializes. */
export class LocalSigner implements Signer {
  readonly #account: LocalAccount
  readonly #policy: TxPolicy
  readonly address

  constructor(account: LocalAccount, policy: TxPolicy) {
    this.#account = account
    this.#policy = policy
    this.address = account.address
  }

  async signTransaction(tx: TransactionSerializable): Promise<Hex> {
    assertSignable(tx, this.#policy)
    return this.#account.signTransaction(tx)
  }

  toJSON(): unknown {
    return { kind: 'local', address: this.address }
  }
}

/** Validates every entry; the error names the entry by index and never echoes its value. */
export function parsePrivateKeys(entries: readonly string[]): Hex[] {
  return entries.map((raw, i) => {
    const v = raw.trim()
    const hex = (v.startsWith('0x') || v.startsWith('0X') ? `0x${v.slice(2)}` : `0x${v}`) as Hex
    if (hex.length !== 66 || !isHex(hex, { strict: true })) {
      throw new SignerConfigError(`private key at index ${i} is malformed (expected 32 bytes of hex)`)
    }
    const n = BigInt(hex)
    if (n === 0n || n >= SECP256K1_N) {
      throw new SignerConfigError(`private key at index ${i} is not a valid secp256k1 key`)
    }
    return hex.toLowerCase() as Hex
  })
}

export function privateKeySigners(keys: readonly string[], policy: TxPolicy): LocalSigner[] {
  return parsePrivateKeys(keys).map((k) => new LocalSigner(privateKeyToAccount(k), policy))
}

/** Account i of the mnemonic (m/44'/60'/0'/0/i) for sender i. */
export function mnemonicSigners(mnemonic: string, count: number, policy: TxPolicy): LocalSigner[] {
  const phrase = mnemonic.trim().split(/\s+/).join(' ')
  if (!isValidMnemonic(phrase)) {
    throw new SignerConfigError('mnemonic is malformed (not a valid English BIP-39 phrase)')
  }
  const signers: LocalSigner[] = []
  for (let i = 0; i < count; i++) {
    let account: LocalAccount
    try {
      account = mnemonicToAccount(phrase, { addressIndex: i }) as unknown as LocalAccount
    } catch {
      // The library's message could quote words of the phrase: replace it.
      throw new SignerConfigError('mnemonic is malformed (not a valid BIP-39 phrase)')
    }
    signers.push(new LocalSigner(account, policy))
  }
  return signers
}
