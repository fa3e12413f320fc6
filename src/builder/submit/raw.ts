import { type Chain, createPublicClient, type Hash, type Hex, http, keccak256, type PublicClient } from 'viem'
import { classifySendError } from '../../chain/node-errors.js'
import type { Signer } from '../signer/types.js'
import {
  CANCELLATION_GAS,
  type CancelResult,
  type CancelTarget,
  SendError,
  type TransactionSender,
  type TxStatus,
} from './types.js'

export interface RawSenderOptions {
  /** Where eth_sendRawTransaction goes (`--builder.submit_url`; default the node). */
  submitUrl: string
  chainId: number
  timeoutMs?: number
}

/** eth_sendRawTransaction to a node; cancellation is hard (an empty transaction to self). */
export class RawTransactionSender implements TransactionSender {
  readonly name = 'raw'
  private readonly client: PublicClient

  constructor(private readonly o: RawSenderOptions) {
    this.client = createPublicClient({
      chain: { id: o.chainId } as Chain,
      // One attempt: a resend is the state machine's decision, after it classified the error.
      transport: http(o.submitUrl, { timeout: o.timeoutMs ?? 10_000, retryCount: 0 }),
    })
  }

  async send(signedTx: Hex): Promise<Hash> {
    return submitRaw(this.client, signedTx)
  }

  async cancel(target: CancelTarget, signer: Signer): Promise<CancelResult> {
    const raw = await signCancellation(target, signer, this.o.chainId)
    return { kind: 'hard', hash: await submitRaw(this.client, raw) }
  }

  /** The submit node's own view: it took the transaction, so it knows first. */
  status(hash: Hash): Promise<TxStatus> {
    return nodeTxStatus(this.client, hash)
  }
}

/** What a node says of a transaction: mined, pending, no longer held; 'unknown' when it does not answer. */
export async function nodeTxStatus(client: PublicClient, hash: Hash): Promise<TxStatus> {
  try {
    const tx = await client.request({ method: 'eth_getTransactionByHash', params: [hash] })
    if (!tx) return 'missing'
    return tx.blockNumber ? 'included' : 'pending'
  } catch {
    return 'unknown'
  }
}

/** Sends raw bytes; the node's complaint becomes a SendError of the state machine's kinds. */
export async function submitRaw(client: PublicClient, signedTx: Hex, conditional = false): Promise<Hash> {
  try {
    return (await client.request({ method: 'eth_sendRawTransaction', params: [signedTx] })) as Hash
  } catch (err) {
    const kind = classifySendError(err, { conditional })
    // "already known": the node has exactly these bytes, so the hash is ours.
    if (kind === 'already_known') return keccak256(signedTx)
    throw new SendError(kind, shortMessage(err))
  }
}

/** The cheapest transaction that takes a nonce: nothing, to ourselves. */
export function signCancellation(target: CancelTarget, signer: Signer, chainId: number): Promise<Hex> {
  return signer.signTransaction({
    type: 'eip1559',
    chainId,
    nonce: Number(target.nonce),
    to: signer.address,
    value: 0n,
    data: '0x',
    gas: CANCELLATION_GAS,
    maxFeePerGas: target.fees.maxFeePerGas,
    maxPriorityFeePerGas: target.fees.maxPriorityFeePerGas,
  })
}

function shortMessage(err: unknown): string {
  const e = err as { shortMessage?: string; details?: string; message?: string }
  return (e.details ?? e.shortMessage ?? e.message ?? String(err)).slice(0, 300)
}
