import type { PublicClient } from 'viem'
import { delegateOf } from '../../chain/eip7702.js'
import type { SignerManager } from './types.js'

export class DelegatedSignerError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'DelegatedSignerError'
  }
}

/**
 * The bundle signers must be plain EOAs: EntryPoint v0.9 lets only them call handleOps (and a
 * delegated key's code could act on what it receives). Checked once at start-up; refuses to start.
 */
export async function refuseDelegatedSigners(client: PublicClient, signers: SignerManager): Promise<void> {
  const addresses = signers.addresses()
  const codes = await Promise.all(addresses.map((address) => client.getCode({ address })))
  for (const [i, address] of addresses.entries()) {
    const code = codes[i] ?? '0x'
    if (code === '0x' || code.length <= 2) continue
    const delegate = delegateOf(code)
    throw new DelegatedSignerError(
      delegate
        ? `signer ${address} is EIP-7702 delegated to ${delegate}: bundle signers must be plain EOAs (EntryPoint v0.9 lets only them call handleOps); use a key that has never signed an authorization, or clear its delegation`
        : `signer ${address} has contract code: bundle signers must be plain EOAs`,
    )
  }
}
