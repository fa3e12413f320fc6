import { type Hash, type Hex, parseTransaction, recoverTransactionAddress } from 'viem'
import { type Logger, silentLogger } from '../../util/log.js'
import type { Signer } from '../signer/types.js'
import { afterPrivateSend, type CircuitSettings, type CircuitState, CLOSED, route } from './circuit.js'
import {
  type CancelResult,
  type CancelTarget,
  SendError,
  type SendOptions,
  type TransactionSender,
  type TxStatus,
} from './types.js'

type Path = 'private' | 'fallback'

export interface FallbackOptions extends CircuitSettings {
  logger?: Logger
  /** The clock (tests). */
  now?: () => number
}

/** Transactions remembered for routing their cancellation; old ones age out. */
const MAX_REMEMBERED = 4096

/**
 * A private sender with a public way out: after K consecutive "unavailable" failures of the relay,
 * sends go raw through the node until the recovery interval has passed, then the relay is tried
 * again. The K-th failing send is resent through the node at once, so the bundle still goes out.
 * A cancellation (and a status query) goes to the sender that sent the transaction.
 */
export class FallbackTransactionSender implements TransactionSender {
  readonly name: string
  /** Switches between the relay and the node so far (metrics). */
  readonly switches = { toFallback: 0, toPrivate: 0 }
  #state: CircuitState = CLOSED
  readonly #byHash = new Map<string, Path>()
  readonly #byNonce = new Map<string, Path>()
  readonly #log: Logger
  readonly #now: () => number

  constructor(
    readonly primary: TransactionSender,
    readonly fallback: TransactionSender,
    private readonly o: FallbackOptions,
  ) {
    this.name = primary.name
    this.#log = (o.logger ?? silentLogger).child({ sender: primary.name })
    this.#now = o.now ?? Date.now
  }

  /** Which path the next send takes (for logs, metrics and tests). */
  get path(): Path {
    return route(this.#state, this.#now(), this.o).path
  }

  async send(signedTx: Hex, opts?: SendOptions): Promise<Hash> {
    const routed = route(this.#state, this.#now(), this.o)
    if (routed.state !== this.#state && routed.path === 'private') {
      this.switches.toPrivate++
      this.#log.info({ relay: this.primary.name }, 'recovery interval over: trying the private relay again')
    }
    this.#state = routed.state
    if (routed.path === 'fallback') return this.#sendVia('fallback', signedTx, opts)
    try {
      const hash = await this.#sendVia('private', signedTx, opts)
      this.#state = afterPrivateSend(this.#state, false, this.#now(), this.o)
      return hash
    } catch (err) {
      const unavailable = err instanceof SendError && err.kind === 'unavailable'
      const before = this.#state
      this.#state = afterPrivateSend(this.#state, unavailable, this.#now(), this.o)
      if (before.mode === 'private' && this.#state.mode === 'fallback') {
        this.switches.toFallback++
        this.#log.warn(
          {
            relay: this.primary.name,
            failures: this.o.maxConsecutiveUnavailable,
            recoveryMillis: this.o.recoveryMillis,
          },
          'private relay unavailable: falling back to raw submission through the node',
        )
        return this.#sendVia('fallback', signedTx, opts)
      }
      throw err
    }
  }

  async cancel(target: CancelTarget, signer: Signer): Promise<CancelResult> {
    const path = this.#pathOf(target.hash, signer.address, target.nonce)
    const result = await this.#sender(path).cancel(target, signer)
    if (result.kind === 'hard') this.#remember(this.#byHash, result.hash.toLowerCase(), path)
    return result
  }

  async status(hash: Hash): Promise<TxStatus> {
    const sender = this.#sender(this.#byHash.get(hash.toLowerCase()) ?? 'private')
    return sender.status ? sender.status(hash) : 'unknown'
  }

  async #sendVia(path: Path, signedTx: Hex, opts?: SendOptions): Promise<Hash> {
    const hash = await this.#sender(path).send(signedTx, opts)
    this.#remember(this.#byHash, hash.toLowerCase(), path)
    try {
      // Bookkeeping only: the transaction is out, so a failure here must not fail the send.
      const from = await recoverTransactionAddress({ serializedTransaction: signedTx as never })
      const nonce = parseTransaction(signedTx).nonce
      if (nonce !== undefined) this.#remember(this.#byNonce, nonceKey(from, BigInt(nonce)), path)
    } catch {}
    return hash
  }

  /** The path that sent the target: by its hash, else by the signer's nonce, else the current path. */
  #pathOf(hash: Hash | undefined, from: string, nonce: bigint): Path {
    return (
      (hash && this.#byHash.get(hash.toLowerCase())) ||
      this.#byNonce.get(nonceKey(from, nonce)) ||
      route(this.#state, this.#now(), this.o).path
    )
  }

  #sender(path: Path): TransactionSender {
    return path === 'private' ? this.primary : this.fallback
  }

  #remember(map: Map<string, Path>, key: string, path: Path): void {
    map.delete(key)
    map.set(key, path)
    if (map.size > MAX_REMEMBERED) {
      const oldest = map.keys().next().value
      if (oldest !== undefined) map.delete(oldest)
    }
  }
}

function nonceKey(from: string, nonce: bigint): string {
  return `${from.toLowerCase()}:${nonce}`
}
