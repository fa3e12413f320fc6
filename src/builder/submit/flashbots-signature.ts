import { type Hex, keccak256, stringToBytes } from 'viem'
import { type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts'

/**
 * The Flashbots reputation key: signs request bodies, never transactions, holds no funds. The
 * account lives in a private field so the key never serializes into a log line.
 */
export class FlashbotsAuthSigner {
  readonly #account: PrivateKeyAccount
  readonly address

  constructor(privateKey: Hex) {
    this.#account = privateKeyToAccount(privateKey)
    this.address = this.#account.address
  }

  /**
   * `X-Flashbots-Signature: <address>:<signature>`, the signature being an EIP-191 personal-sign
   * of the hex text of keccak256(body) (what ethers' `signMessage(id(body))` produces).
   */
  async header(body: string): Promise<string> {
    const signature = await this.#account.signMessage({ message: keccak256(stringToBytes(body)) })
    return `${this.address}:${signature}`
  }

  toJSON(): unknown {
    return { kind: 'flashbots-auth', address: this.address }
  }
}
