import { signRecoverable } from 'tiny-secp256k1'
import { bytesToHex, type Hex, hashMessage, hexToBytes, type SignableMessage } from 'viem'
import { generatePrivateKey, type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts'

/**
 * A throwaway owner whose hash and message signatures come from libsecp256k1 (tiny-secp256k1's
 * WebAssembly build) instead of viem's pure-JS curve: the load generator signs an op per send, and
 * on the bench's two cores its signing took CPU from the bundler it measures. The signatures are
 * the same (RFC 6979, low s); everything else is viem's account.
 */
export function fastOwner(key: Hex = generatePrivateKey()): PrivateKeyAccount {
  const account = privateKeyToAccount(key)
  const secret = hexToBytes(key)
  const signHash = (hash: Hex): Hex => {
    const { signature, recoveryId } = signRecoverable(hexToBytes(hash), secret)
    const out = new Uint8Array(65)
    out.set(signature, 0)
    out[64] = 27 + recoveryId
    return bytesToHex(out)
  }
  return {
    ...account,
    sign: async ({ hash }: { hash: Hex }) => signHash(hash),
    signMessage: async ({ message }: { message: SignableMessage }) => signHash(hashMessage(message)),
  }
}
