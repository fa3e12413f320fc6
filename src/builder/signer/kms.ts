import { GetPublicKeyCommand, type KMSClient, SignCommand } from '@aws-sdk/client-kms'
import {
  type Address,
  bytesToHex,
  getAddress,
  type Hex,
  hexToBytes,
  keccak256,
  type Signature,
  type TransactionSerializable,
} from 'viem'
import { DerError, parseEcdsaSignature, parseSpkiSecp256k1 } from './der.js'
import { KmsError, type KmsErrorDetails, type KmsFailureKind } from './errors.js'
import { withRecoveryBit } from './recover.js'
import { assertSignable, serializeSigned, signingHash, type TxPolicy } from './tx.js'
import type { Signer } from './types.js'

export interface KmsSignerOptions {
  policy: TxPolicy
  /** Bound on one KMS call including the SDK's retries (default 10 000). */
  timeoutMillis?: number
}

const THROTTLED = new Set([
  'ThrottlingException',
  'TooManyRequestsException',
  'LimitExceededException',
  'RequestLimitExceeded',
])
const UNAVAILABLE = new Set([
  'KMSInternalException',
  'DependencyTimeoutException',
  'ServiceUnavailableException',
  'InternalFailure',
  'AbortError',
  'TimeoutError',
])

/** Sorts an SDK or network failure into what a sender can act on. */
export function classifyKmsFailure(err: unknown): KmsFailureKind {
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } }
  const name = e?.name ?? ''
  if (THROTTLED.has(name)) return 'throttled'
  if (name === 'NotFoundException') return 'not_found'
  if (UNAVAILABLE.has(name)) return 'unavailable'
  if (e?.code && /^(ECONN|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|ECONNRESET)/.test(e.code)) return 'unavailable'
  const status = e?.$metadata?.httpStatusCode
  if (status === undefined || status >= 500) return 'unavailable'
  return 'rejected'
}

function describe(err: unknown): string {
  const e = err as { name?: string; message?: string }
  // SDK messages carry the key ARN at most; credentials never appear in them.
  return `${e?.name ?? 'Error'}: ${(e?.message ?? String(err)).slice(0, 300)}`
}

/**
 * The SDK error is not kept as `cause`: its `$response` holds the signed request headers
 * (Authorization), which must never reach a log line. Only these fields survive.
 */
function safeDetails(err: unknown): KmsErrorDetails {
  const e = err as {
    name?: string
    $metadata?: { httpStatusCode?: number; requestId?: string; attempts?: number }
  }
  return {
    awsErrorName: e?.name,
    httpStatusCode: e?.$metadata?.httpStatusCode,
    requestId: e?.$metadata?.requestId,
    attempts: e?.$metadata?.attempts,
  }
}

async function call<T>(
  keyId: string,
  what: string,
  timeoutMillis: number,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  try {
    return await fn(AbortSignal.timeout(timeoutMillis))
  } catch (err) {
    const kind = classifyKmsFailure(err)
    throw new KmsError(kind, keyId, `${what} failed (${kind}): ${describe(err)}`, safeDetails(err))
  }
}

/** Reads and checks a KMS key's public key: secp256k1, SIGN_VERIFY. Returns the uncompressed point. */
export async function fetchKmsPublicKey(
  client: KMSClient,
  keyId: string,
  timeoutMillis = 10_000,
): Promise<Hex> {
  const out = await call(keyId, 'GetPublicKey', timeoutMillis, (abortSignal) =>
    client.send(new GetPublicKeyCommand({ KeyId: keyId }), { abortSignal }),
  )
  const spec = out.KeySpec ?? out.CustomerMasterKeySpec
  if (spec !== 'ECC_SECG_P256K1')
    throw new KmsError('rejected', keyId, `key spec is ${spec}, not ECC_SECG_P256K1`)
  if (out.KeyUsage && out.KeyUsage !== 'SIGN_VERIFY') {
    throw new KmsError('rejected', keyId, `key usage is ${out.KeyUsage}, not SIGN_VERIFY`)
  }
  if (!out.PublicKey) throw new KmsError('invalid_response', keyId, 'GetPublicKey returned no public key')
  try {
    return bytesToHex(parseSpkiSecp256k1(out.PublicKey))
  } catch (err) {
    throw new KmsError(
      'invalid_response',
      keyId,
      `public key is not SPKI secp256k1: ${(err as Error).message}`,
    )
  }
}

/** address = last 20 bytes of keccak256(X ‖ Y). */
export function addressFromPublicKey(publicKey: Hex): Address {
  return getAddress(`0x${keccak256(`0x${publicKey.slice(4)}`).slice(-40)}`)
}

/** Signs with an AWS KMS key; the public key and address are read once and cached. */
export class KmsSigner implements Signer {
  private constructor(
    private readonly client: KMSClient,
    readonly keyId: string,
    readonly publicKey: Hex,
    readonly address: Address,
    private readonly opts: KmsSignerOptions,
  ) {}

  static async create(client: KMSClient, keyId: string, opts: KmsSignerOptions): Promise<KmsSigner> {
    const publicKey = await fetchKmsPublicKey(client, keyId, opts.timeoutMillis)
    return new KmsSigner(client, keyId, publicKey, addressFromPublicKey(publicKey), opts)
  }

  /** ECDSA over a 32-byte digest: DER from KMS → (r, low s, recovery bit). */
  async signDigest(hash: Hex): Promise<Signature> {
    const out = await call(this.keyId, 'Sign', this.opts.timeoutMillis ?? 10_000, (abortSignal) =>
      this.client.send(
        new SignCommand({
          KeyId: this.keyId,
          Message: hexToBytes(hash),
          MessageType: 'DIGEST',
          SigningAlgorithm: 'ECDSA_SHA_256',
        }),
        { abortSignal },
      ),
    )
    if (!out.Signature) throw new KmsError('invalid_response', this.keyId, 'Sign returned no signature')
    let rs: { r: bigint; s: bigint }
    try {
      rs = parseEcdsaSignature(out.Signature)
    } catch (err) {
      const msg = err instanceof DerError ? err.message : String(err)
      throw new KmsError('invalid_response', this.keyId, `signature is not DER ECDSA: ${msg}`)
    }
    const sig = await withRecoveryBit(hash, rs.r, rs.s, this.publicKey)
    if (!sig)
      throw new KmsError('invalid_response', this.keyId, 'signature does not recover the key’s public key')
    return sig
  }

  async signTransaction(tx: TransactionSerializable): Promise<Hex> {
    assertSignable(tx, this.opts.policy)
    const hash = signingHash(tx)
    return serializeSigned(tx, await this.signDigest(hash))
  }

  toJSON(): unknown {
    return { kind: 'kms', keyId: this.keyId, address: this.address }
  }
}
