import type { Address, Hex, TransactionSerializable } from 'viem'

/** Signs transaction requests for one account. Implementations: local key, AWS KMS, leased wrapper. */
export interface Signer {
  readonly address: Address
  /** EIP-1559 (and EIP-7702 where enabled) request → signed raw transaction bytes. */
  signTransaction(tx: TransactionSerializable): Promise<Hex>
}

/** One sender's right to use one key. A lease never becomes valid again once lost. */
export interface SignerLease {
  readonly senderIndex: number
  /** Private keys: `key-<index>`; KMS: the key id. Never key material. */
  readonly keyId: string
  /** Refuses to sign once the lease is not valid. */
  readonly signer: Signer
  isValid(): boolean
  /** Aborted when the lease is lost or released; `signal.reason` says why. */
  readonly lost: AbortSignal
  release(): Promise<void>
}

export interface AcquireOptions {
  /** Stop waiting (shutdown). */
  signal?: AbortSignal
  /** Overrides the manager's leaseWaitMillis for this call. */
  waitMillis?: number
}

/** Hands leases to the N bundle senders and takes them back. */
export interface SignerManager {
  readonly numSigners: number
  /** Every key's address (start-up checks: none may be EIP-7702 delegated). */
  addresses(): Address[]
  acquire(senderIndex: number, opts?: AcquireOptions): Promise<SignerLease>
  release(lease: SignerLease): Promise<void>
  /** Releases every lease and closes connections (shutdown). */
  close(): Promise<void>
}

/**
 * Plain settings; the config layer maps CLI flags / env / files onto it. Exactly one key source:
 * privateKeys, mnemonic or awsKmsKeyIds.
 */
export interface SignerSettings {
  privateKeys?: Hex[]
  mnemonic?: string
  awsKmsKeyIds?: string[]
  awsKmsRegion?: string
  awsKmsEndpoint?: string
  /** Per KMS call, including the SDK's retries (default 10 000). */
  awsKmsTimeoutMillis?: number
  /** SDK attempts per KMS call (default 3). */
  awsKmsMaxAttempts?: number
  redisUri?: string
  /** Default 60 000. */
  redisLockTtlMillis: number
  /** How long a sender waits for a free key before acquire fails. */
  leaseWaitMillis: number
  /** KMS leasing through Redis; may be off only with one key id and one sender. */
  enableLeasing: boolean
  numSigners: number
  chainId: number
  /** The chain accepts EIP-7702 (type 4) transactions (bundles of v0.8+ ops with authorizations). Default false. */
  eip7702?: boolean
}

export const DEFAULT_REDIS_LOCK_TTL_MILLIS = 60_000
