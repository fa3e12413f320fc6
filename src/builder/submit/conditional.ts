import { type Chain, createPublicClient, type Hash, type Hex, http, keccak256, type PublicClient } from 'viem'
import { classifySendError, errorFacts } from '../../chain/node-errors.js'
import type { Signer } from '../signer/types.js'
import { toKnownAccounts } from './known-accounts.js'
import { nodeTxStatus, signCancellation, submitRaw } from './raw.js'
import {
  type CancelResult,
  type CancelTarget,
  SendError,
  type SendOptions,
  type TransactionSender,
  type TxStatus,
} from './types.js'

export const CONDITIONAL_METHOD = 'eth_sendRawTransactionConditional'

export interface ConditionalSenderOptions {
  /** An endpoint that implements eth_sendRawTransactionConditional (`--builder.submit_url`). */
  submitUrl: string
  chainId: number
  timeoutMs?: number
}

/**
 * eth_sendRawTransactionConditional with `knownAccounts` from the storage the ops' validation
 * read: the node includes the bundle only while that storage is unchanged. "condition not met" is
 * its own outcome (the state machine re-checks the storage and rebuilds without the changed ops).
 */
export class ConditionalTransactionSender implements TransactionSender {
  readonly name = 'conditional'
  private readonly client: PublicClient

  constructor(private readonly o: ConditionalSenderOptions) {
    this.client = conditionalClient(o.submitUrl, o.chainId, o.timeoutMs)
  }

  async send(signedTx: Hex, opts?: SendOptions): Promise<Hash> {
    const options = { knownAccounts: toKnownAccounts(opts?.expectedStorage) }
    try {
      return (await this.client.request({
        method: CONDITIONAL_METHOD as never,
        params: [signedTx, options] as never,
      })) as Hash
    } catch (err) {
      const kind = classifySendError(err, { conditional: true })
      if (kind === 'already_known') return keccak256(signedTx)
      throw new SendError(kind, shortMessage(err))
    }
  }

  /** Hard, through the same endpoint with the plain method: a cancellation has no condition. */
  async cancel(target: CancelTarget, signer: Signer): Promise<CancelResult> {
    const raw = await signCancellation(target, signer, this.o.chainId)
    return { kind: 'hard', hash: await submitRaw(this.client, raw) }
  }

  /** The endpoint is a node: it says whether it still holds what it took ('unknown' if it will not answer). */
  status(hash: Hash): Promise<TxStatus> {
    return nodeTxStatus(this.client, hash)
  }
}

export type ConditionalProbe =
  | { kind: 'supported' }
  | { kind: 'unsupported'; message: string }
  | { kind: 'unreachable'; message: string }

const NOT_FOUND = [
  /method not found/,
  /does not exist/,
  /not available/,
  /not supported/,
  /unsupported method/,
]

/**
 * Whether `url` implements eth_sendRawTransactionConditional, asked with a transaction that cannot
 * be decoded: an endpoint that knows the method complains about the bytes; one that does not
 * answers "method not found" (-32601).
 */
export async function probeConditionalSupport(url: string, timeoutMs = 5_000): Promise<ConditionalProbe> {
  const client = conditionalClient(url, 1, timeoutMs)
  try {
    await client.request({
      method: CONDITIONAL_METHOD as never,
      params: ['0x00', { knownAccounts: {} }] as never,
    })
    return { kind: 'supported' }
  } catch (err) {
    const facts = errorFacts(err)
    const notFound =
      facts.codes.includes(-32601) ||
      facts.texts.some((t) => NOT_FOUND.some((re) => re.test(t) && t.includes('method')))
    if (notFound) return { kind: 'unsupported', message: shortMessage(err) }
    if (classifySendError(err) === 'unavailable' || facts.statuses.some((s) => s === 404 || s === 405)) {
      return { kind: 'unreachable', message: shortMessage(err) }
    }
    return { kind: 'supported' }
  }
}

function conditionalClient(url: string, chainId: number, timeoutMs = 10_000): PublicClient {
  return createPublicClient({
    chain: { id: chainId } as Chain,
    // One attempt: the state machine decides about resending after it classified the error.
    transport: http(url, { timeout: timeoutMs, retryCount: 0 }),
  })
}

function shortMessage(err: unknown): string {
  const e = err as { shortMessage?: string; details?: string; message?: string }
  return (e.details ?? e.shortMessage ?? e.message ?? String(err)).slice(0, 300)
}
