import type { Address, Hex } from 'viem'
import { generatePrivateKey, mnemonicToAccount, privateKeyToAddress } from 'viem/accounts'
import type { Config } from '../config/index.js'

/**
 * The signer addresses a config implies, generating `num_signers` fresh keys when none is given
 * (dev only: they live in memory and are funded on the embedded chain). KMS addresses are only
 * known once the keys are fetched, so they are not listed here.
 */
export function devSigners(cfg: Config): { config: Config; addresses: Address[]; generated: boolean } {
  const s = cfg.signer
  if (s.private_keys?.length) {
    return { config: cfg, addresses: s.private_keys.map((k) => privateKeyToAddress(k)), generated: false }
  }
  if (s.mnemonic) {
    const mnemonic = s.mnemonic
    const addresses = Array.from(
      { length: cfg.num_signers },
      (_, i) => mnemonicToAccount(mnemonic, { addressIndex: i }).address,
    )
    return { config: cfg, addresses, generated: false }
  }
  if (s.aws_kms_key_ids?.length) return { config: cfg, addresses: [], generated: false }
  const keys: Hex[] = Array.from({ length: cfg.num_signers }, () => generatePrivateKey())
  return {
    config: { ...cfg, signer: { ...s, private_keys: keys } },
    addresses: keys.map((k) => privateKeyToAddress(k)),
    generated: true,
  }
}
