import { type Hash, type Hex, keccak256 } from 'viem'
import { type Logger, silentLogger } from '../../util/log.js'
import type { Signer } from '../signer/types.js'
import { RawTransactionSender } from './raw.js'
import { classifyRelayError, isAuthFailure, type RelayFailureContext, relayFailure } from './relay-errors.js'
import { type RelayRequest, relayCall } from './relay-http.js'
import type { CancelResult, CancelTarget, TransactionSender } from './types.js'

export interface BloxrouteSenderOptions {
  /** bloXroute's cloud API endpoint. */
  relayUrl: string
  /** `--builder.bloxroute_auth_header`, sent verbatim as `Authorization`. */
  authHeader: string
  /** The public node: cancellations go there. */
  nodeUrl: string
  chainId: number
  timeoutMs?: number
  logger?: Logger
}

const DEFAULT_TIMEOUT_MS = 10_000

/**
 * bloXroute private transactions on Polygon: `polygon_private_tx` with `{transaction: <raw hex
 * without 0x>}`. bloXroute has no cancel call: cancellation is hard, an empty transaction at the
 * nonce sent through the public node.
 */
export class BloxrouteTransactionSender implements TransactionSender {
  readonly name = 'bloxroute'
  readonly #rpc: RelayRequest
  readonly #ctx: RelayFailureContext
  readonly #node: RawTransactionSender
  readonly #log: Logger

  constructor(o: BloxrouteSenderOptions) {
    const authHeader = o.authHeader
    this.#rpc = {
      url: o.relayUrl,
      timeoutMs: o.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      headers: () => ({ Authorization: authHeader }),
    }
    this.#ctx = {
      relay: 'bloxroute relay',
      authOption: '--builder.bloxroute_auth_header',
      secrets: [authHeader],
    }
    this.#node = new RawTransactionSender({
      submitUrl: o.nodeUrl,
      chainId: o.chainId,
      timeoutMs: o.timeoutMs,
    })
    this.#log = (o.logger ?? silentLogger).child({ sender: 'bloxroute' })
  }

  async send(signedTx: Hex): Promise<Hash> {
    const hash = keccak256(signedTx)
    try {
      const result = await relayCall(this.#rpc, 'polygon_private_tx', { transaction: signedTx.slice(2) })
      const relayHash = (result as { txHash?: unknown } | null)?.txHash
      if (typeof relayHash === 'string' && normalizeHash(relayHash) !== hash) {
        this.#log.warn(
          { txHash: hash, relayHash: relayHash.slice(0, 66) },
          'relay acknowledged a different hash',
        )
      }
      return hash
    } catch (err) {
      if (classifyRelayError(err) === 'already_known') return hash
      const failure = relayFailure(err, this.#ctx)
      if (isAuthFailure(err)) this.#log.error({ txHash: hash, error: failure.message }, failure.message)
      throw failure
    }
  }

  cancel(target: CancelTarget, signer: Signer): Promise<CancelResult> {
    return this.#node.cancel(target, signer)
  }
}

function normalizeHash(h: string): string {
  const lower = h.toLowerCase()
  return lower.startsWith('0x') ? lower : `0x${lower}`
}
