export { BalanceMonitor, type BalanceMonitorOptions } from './balance.js'
export { createSignerManager, type SignerDeps } from './create.js'
export {
  KmsError,
  type KmsFailureKind,
  LeaseLostError,
  NoFreeKeyError,
  SignerConfigError,
  SignerError,
  type SignerErrorCode,
  UnsupportedTransactionError,
} from './errors.js'
export { addressFromPublicKey, classifyKmsFailure, fetchKmsPublicKey, KmsSigner } from './kms.js'
export { createKmsClient, type KmsClientOptions } from './kms-client.js'
export { type LeaseEndReason, leaseEndReason } from './lease-metrics.js'
export { type LeasingManagerParams, LeasingSignerManager } from './leasing-manager.js'
export { LocalSigner, mnemonicSigners, parsePrivateKeys, privateKeySigners } from './local.js'
export { lockName, RedisLockStore, redactRedisUri } from './redis-lock.js'
export {
  ENV_MNEMONIC,
  ENV_MNEMONIC_FILE,
  ENV_PRIVATE_KEYS,
  ENV_PRIVATE_KEYS_FILE,
  loadSignerSecrets,
  SECRET_SIGNER_OPTIONS,
  type SignerSecretSources,
  type SignerSecrets,
  splitKeyList,
} from './secrets.js'
export { describeSignerSettings, planSigners, type SignerPlan } from './settings.js'
export { StaticSignerManager } from './static-manager.js'
export {
  type AcquireOptions,
  DEFAULT_REDIS_LOCK_TTL_MILLIS,
  type Signer,
  type SignerLease,
  type SignerManager,
  type SignerSettings,
} from './types.js'
