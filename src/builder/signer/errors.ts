/**
 * Typed signer errors. None of them ever carries key material: messages name a key by its index,
 * its KMS key id or its address, never by its value.
 */
export type SignerErrorCode = 'SIGNER_CONFIG' | 'LEASE_INVALID' | 'NO_FREE_KEY' | 'KMS' | 'UNSUPPORTED_TX'

export class SignerError extends Error {
  constructor(
    readonly code: SignerErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.name = 'SignerError'
  }
}

/** Bad configuration found at start-up: the message names the problem, never a secret. */
export class SignerConfigError extends SignerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SIGNER_CONFIG', message, options)
    this.name = 'SignerConfigError'
  }
}

/** The signer's lease is lost, released or expired: it refuses to sign (fail closed). */
export class LeaseLostError extends SignerError {
  constructor(
    readonly keyId: string,
    readonly reason: string,
  ) {
    super('LEASE_INVALID', `lease on signer key ${keyId} is not valid (${reason}); acquire a fresh lease`)
    this.name = 'LeaseLostError'
  }
}

/** No key of the configured list could be leased within the wait time. */
export class NoFreeKeyError extends SignerError {
  constructor(
    readonly senderIndex: number,
    readonly waitedMillis: number,
    detail: string,
  ) {
    super('NO_FREE_KEY', `sender ${senderIndex}: no free signer key after ${waitedMillis} ms (${detail})`)
    this.name = 'NoFreeKeyError'
  }
}

export type KmsFailureKind = 'throttled' | 'not_found' | 'unavailable' | 'invalid_response' | 'rejected'

/** What is kept of an AWS SDK error (never the raw error: it holds signed request headers). */
export interface KmsErrorDetails {
  awsErrorName?: string
  httpStatusCode?: number
  requestId?: string
  attempts?: number
}

/** A KMS call failed after its bounded retries; the sender handles it (skip this round, retry later). */
export class KmsError extends SignerError {
  constructor(
    readonly kind: KmsFailureKind,
    readonly keyId: string,
    message: string,
    readonly details: KmsErrorDetails = {},
  ) {
    super('KMS', `KMS key ${keyId}: ${message}`)
    this.name = 'KmsError'
  }
}

export class UnsupportedTransactionError extends SignerError {
  constructor(message: string) {
    super('UNSUPPORTED_TX', message)
    this.name = 'UnsupportedTransactionError'
  }
}
