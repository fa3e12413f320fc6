import { readFileSync, statSync } from 'node:fs'
import { SignerConfigError } from './errors.js'

/**
 * Where the secret signer options may come from: the flag value, a file, or the environment
 * (CONVEYOR_SIGNER_PRIVATE_KEYS / CONVEYOR_SIGNER_MNEMONIC, or *_FILE naming a file).
 * A flag value wins over a file, a file over the environment.
 */
export interface SignerSecretSources {
  privateKeys?: string
  privateKeysFile?: string
  mnemonic?: string
  mnemonicFile?: string
}

export interface SignerSecrets {
  privateKeys?: string[]
  mnemonic?: string
  /** e.g. a key file readable by other users; log these (they name paths, not contents). */
  warnings: string[]
}

/** Option names whose values are secret: the config layer masks them in --help, logs and dumps. */
export const SECRET_SIGNER_OPTIONS = ['signer.private_keys', 'signer.mnemonic'] as const

export const ENV_PRIVATE_KEYS = 'CONVEYOR_SIGNER_PRIVATE_KEYS'
export const ENV_PRIVATE_KEYS_FILE = 'CONVEYOR_SIGNER_PRIVATE_KEYS_FILE'
export const ENV_MNEMONIC = 'CONVEYOR_SIGNER_MNEMONIC'
export const ENV_MNEMONIC_FILE = 'CONVEYOR_SIGNER_MNEMONIC_FILE'

/** Comma, whitespace or newline separated; `#` starts a comment line in files. */
export function splitKeyList(text: string): string[] {
  return text
    .split(/\r?\n/)
    .filter((line) => !line.trim().startsWith('#'))
    .join(',')
    .split(/[\s,]+/)
    .filter((x) => x.length > 0)
}

function readSecretFile(path: string, option: string, warnings: string[]): string {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
    if (process.platform !== 'win32' && (statSync(path).mode & 0o077) !== 0) {
      warnings.push(`${option} file ${path} is readable by other users; chmod 600 it`)
    }
  } catch (err) {
    // The error names the path and the errno only.
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable'
    throw new SignerConfigError(`${option} file ${path} cannot be read (${code})`)
  }
  return text
}

export function loadSignerSecrets(
  src: SignerSecretSources,
  env: Record<string, string | undefined> = process.env,
): SignerSecrets {
  const warnings: string[] = []
  const out: SignerSecrets = { warnings }
  const keysFile = src.privateKeysFile ?? env[ENV_PRIVATE_KEYS_FILE]
  const keysText =
    src.privateKeys ??
    (keysFile ? readSecretFile(keysFile, '--signer.private_keys', warnings) : undefined) ??
    env[ENV_PRIVATE_KEYS]
  if (keysText !== undefined) {
    const keys = splitKeyList(keysText)
    if (keys.length > 0) out.privateKeys = keys
  }
  const mnemonicFile = src.mnemonicFile ?? env[ENV_MNEMONIC_FILE]
  const mnemonic =
    src.mnemonic ??
    (mnemonicFile ? readSecretFile(mnemonicFile, '--signer.mnemonic', warnings) : undefined) ??
    env[ENV_MNEMONIC]
  if (mnemonic?.trim()) out.mnemonic = mnemonic.trim().split(/\s+/).join(' ')
  return out
}
