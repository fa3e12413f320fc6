import { type Hash, type Hex, keccak256 } from 'viem'
import { type Logger, silentLogger } from '../../util/log.js'
import type { Signer } from '../signer/types.js'
import { FlashbotsAuthSigner } from './flashbots-signature.js'
import { statusUrl, toTxStatus } from './flashbots-status.js'
import { classifyRelayError, isAuthFailure, type RelayFailureContext, relayFailure } from './relay-errors.js'
import { type RelayRequest, relayCall, relayGet } from './relay-http.js'
import { retrySafe } from './retry.js'
import {
  type CancelResult,
  type CancelTarget,
  SendError,
  type TransactionSender,
  type TxStatus,
} from './types.js'

export interface FlashbotsSenderOptions {
  /** Flashbots Protect RPC (mainnet or the Sepolia relay). */
  relayUrl: string
  /** Base of the status API: GET `<statusUrl>/tx/<hash>`. */
  statusUrl: string
  /** `--builder.flashbots_relay_auth_key`: the reputation key, not a signer key. */
  authKey: Hex
  timeoutMs?: number
  logger?: Logger
}

const DEFAULT_TIMEOUT_MS = 10_000
/** Status reads and cancellations are idempotent: a transport failure may be retried. */
const SAFE_ATTEMPTS = 3

/**
 * Flashbots Protect: `eth_sendPrivateTransaction` signed with `X-Flashbots-Signature`; soft
 * cancellation with `eth_cancelPrivateTransaction`; the status API says when a private
 * transaction was dropped (FAILED / CANCELLED).
 */
export class FlashbotsTransactionSender implements TransactionSender {
  readonly name = 'flashbots'
  readonly #auth: FlashbotsAuthSigner
  readonly #rpc: RelayRequest
  readonly #ctx: RelayFailureContext
  readonly #log: Logger
  readonly #timeoutMs: number
  readonly #statusBase: string

  constructor(o: FlashbotsSenderOptions) {
    this.#auth = new FlashbotsAuthSigner(o.authKey)
    this.#timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS
    this.#statusBase = o.statusUrl
    this.#rpc = {
      url: o.relayUrl,
      timeoutMs: this.#timeoutMs,
      headers: async (body) => ({ 'X-Flashbots-Signature': await this.#auth.header(body) }),
    }
    this.#ctx = {
      relay: 'flashbots relay',
      authOption: '--builder.flashbots_relay_auth_key',
      secrets: [o.authKey, o.authKey.replace(/^0x/, '')],
    }
    this.#log = (o.logger ?? silentLogger).child({ sender: 'flashbots' })
  }

  /** The reputation address the relay sees (public). */
  get authAddress(): string {
    return this.#auth.address
  }

  async send(signedTx: Hex): Promise<Hash> {
    const hash = keccak256(signedTx)
    try {
      const result = await relayCall(this.#rpc, 'eth_sendPrivateTransaction', [
        { tx: signedTx, preferences: { fast: true } },
      ])
      if (typeof result === 'string' && result.toLowerCase() !== hash) {
        this.#log.warn(
          { txHash: hash, relayHash: result.slice(0, 66) },
          'relay acknowledged a different hash',
        )
      }
      return hash
    } catch (err) {
      if (classifyRelayError(err) === 'already_known') return hash
      throw this.#failure(err, 'send', hash)
    }
  }

  /** Soft: the relay stops offering the transaction; nothing is mined at the nonce. */
  async cancel(target: CancelTarget, _signer: Signer): Promise<CancelResult> {
    const txHash = target.hash
    if (!txHash)
      throw new SendError('rejected', 'flashbots soft cancellation needs the private transaction hash')
    let result: unknown
    try {
      result = await retrySafe(
        () => relayCall(this.#rpc, 'eth_cancelPrivateTransaction', [{ txHash }]),
        (e) => classifyRelayError(e) === 'unavailable',
        { attempts: SAFE_ATTEMPTS },
      )
    } catch (err) {
      throw this.#failure(err, 'cancel', txHash)
    }
    if (result !== true) {
      // The relay no longer holds it (included, already failed): nothing was cancelled.
      throw new SendError(
        'rejected',
        `flashbots relay did not cancel ${txHash} (answered ${JSON.stringify(result)})`,
      )
    }
    this.#log.info({ txHash }, 'private transaction cancelled')
    return { kind: 'soft' }
  }

  /** The relay's view; 'unknown' when the status API cannot be reached (ask the chain instead). */
  async status(hash: Hash): Promise<TxStatus> {
    try {
      const answer = await retrySafe(
        () => relayGet(statusUrl(this.#statusBase, hash), this.#timeoutMs),
        (e) => classifyRelayError(e) === 'unavailable',
        { attempts: SAFE_ATTEMPTS },
      )
      return toTxStatus(answer)
    } catch (err) {
      this.#log.warn(
        { txHash: hash, error: relayFailure(err, this.#ctx).message },
        'flashbots status unavailable',
      )
      return 'unknown'
    }
  }

  #failure(err: unknown, op: string, txHash: Hash): SendError {
    const failure = relayFailure(err, this.#ctx)
    if (isAuthFailure(err)) {
      this.#log.error(
        { op, txHash, authAddress: this.#auth.address, error: failure.message },
        failure.message,
      )
    }
    return failure
  }
}
