import type { Address, Hex } from 'viem'
import { generatePrivateKey, mnemonicToAccount, privateKeyToAddress } from 'viem/accounts'
import type { Config } from '../config/index.js'

/**
 * Addresses of the configured signers: from the keys, or the first `num_signers` accounts of the
 * mnemonic. KMS addresses are only known once the keys are fetched, so they are not listed.
 */
export function signerAddresses(cfg: Config): Address[] {
  const s = cfg.signer
  if (s.private_keys?.length) return s.private_keys.map((k) => privateKeyToAddress(k))
  const mnemonic = s.mnemonic
  if (mnemonic) {
    return Array.from(
      { length: cfg.num_signers },
      (_, i) => mnemonicToAccount(mnemonic, { addressIndex: i }).address,
    )
  }
  return []
}

/** Dev only: `num_signers` fresh in-memory keys when no signer source is configured. */
export function withDevKeys(cfg: Config): { config: Config; generated: boolean } {
  const s = cfg.signer
  if (s.private_keys?.length || s.mnemonic || s.aws_kms_key_ids?.length)
    return { config: cfg, generated: false }
  const keys: Hex[] = Array.from({ length: cfg.num_signers }, () => generatePrivateKey())
  return { config: { ...cfg, signer: { ...s, private_keys: keys } }, generated: true }
}
