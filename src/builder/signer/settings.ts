import { SignerConfigError } from './errors.js'
import { validateRedisUri } from './redis-lock.js'
import { DEFAULT_REDIS_LOCK_TTL_MILLIS, type SignerSettings } from './types.js'

/** What the settings ask for, after the checks that need no I/O. */
export type SignerPlan =
  | { kind: 'privateKeys'; keys: string[] }
  | { kind: 'mnemonic'; mnemonic: string }
  | { kind: 'kms'; keyIds: string[]; leasing: boolean }

/** Start-up checks; every message names the option and the problem, never a secret value. */
export function planSigners(s: SignerSettings): SignerPlan {
  if (!Number.isInteger(s.numSigners) || s.numSigners < 1) {
    throw new SignerConfigError(`--num_signers must be a positive integer, got ${s.numSigners}`)
  }
  if (!Number.isInteger(s.chainId) || s.chainId < 1)
    throw new SignerConfigError(`chain id ${s.chainId} is invalid`)
  const sources = [
    s.privateKeys?.length ? '--signer.private_keys' : undefined,
    s.mnemonic ? '--signer.mnemonic' : undefined,
    s.awsKmsKeyIds?.length ? '--signer.aws_kms_key_ids' : undefined,
  ].filter((x): x is string => x !== undefined)
  if (sources.length === 0) {
    throw new SignerConfigError(
      'no signer configured: set one of --signer.private_keys, --signer.mnemonic or --signer.aws_kms_key_ids',
    )
  }
  if (sources.length > 1)
    throw new SignerConfigError(`configure exactly one signer source, not ${sources.join(' and ')}`)

  if (s.privateKeys?.length) {
    if (s.privateKeys.length < s.numSigners) {
      throw new SignerConfigError(
        `--signer.private_keys has ${s.privateKeys.length} key(s), fewer than --num_signers (${s.numSigners})`,
      )
    }
    return { kind: 'privateKeys', keys: s.privateKeys }
  }
  if (s.mnemonic) return { kind: 'mnemonic', mnemonic: s.mnemonic }

  const keyIds = (s.awsKmsKeyIds ?? []).map((k) => k.trim())
  keyIds.forEach((k, i) => {
    if (!k) throw new SignerConfigError(`--signer.aws_kms_key_ids entry ${i} is empty`)
  })
  const dup = keyIds.find((k, i) => keyIds.indexOf(k) !== i)
  if (dup) throw new SignerConfigError(`--signer.aws_kms_key_ids lists key id ${dup} twice`)
  if (keyIds.length < s.numSigners) {
    throw new SignerConfigError(
      `--signer.aws_kms_key_ids has ${keyIds.length} key id(s), fewer than --num_signers (${s.numSigners})`,
    )
  }
  if (!s.enableLeasing) {
    if (keyIds.length !== 1 || s.numSigners !== 1) {
      throw new SignerConfigError(
        'KMS key leasing may be disabled only with a single key id and one sender; set --signer.redis_uri',
      )
    }
    return { kind: 'kms', keyIds, leasing: false }
  }
  if (!s.redisUri) throw new SignerConfigError('KMS key leasing needs --signer.redis_uri')
  validateRedisUri(s.redisUri)
  const ttl = s.redisLockTtlMillis ?? DEFAULT_REDIS_LOCK_TTL_MILLIS
  if (!Number.isInteger(ttl) || ttl < 300) {
    throw new SignerConfigError(`--signer.redis_lock_ttl_millis must be an integer ≥ 300, got ${ttl}`)
  }
  if (!Number.isFinite(s.leaseWaitMillis) || s.leaseWaitMillis < 0) {
    throw new SignerConfigError(`lease wait must be ≥ 0 ms, got ${s.leaseWaitMillis}`)
  }
  return { kind: 'kms', keyIds, leasing: true }
}

/** A loggable view of the settings: counts and ids, never keys, mnemonics or Redis passwords. */
export function describeSignerSettings(s: SignerSettings): Record<string, unknown> {
  return {
    source: s.privateKeys?.length
      ? 'private_keys'
      : s.mnemonic
        ? 'mnemonic'
        : s.awsKmsKeyIds?.length
          ? 'aws_kms'
          : 'none',
    privateKeyCount: s.privateKeys?.length ?? 0,
    awsKmsKeyIds: s.awsKmsKeyIds ?? [],
    awsKmsRegion: s.awsKmsRegion,
    awsKmsEndpoint: s.awsKmsEndpoint,
    leasing: s.enableLeasing,
    redisLockTtlMillis: s.redisLockTtlMillis,
    numSigners: s.numSigners,
    chainId: s.chainId,
  }
}
