import { keccak256 } from 'viem'
import { errorMessage } from '../util/errors.js'
import type { Logger } from '../util/log.js'
import type { Bundle } from './bundle.js'
import type { SenderEffect, SenderEvent } from './machine/types.js'
import type { Signer } from './signer/types.js'
import { SendError, type TransactionSender } from './submit/types.js'

export interface SubmissionDeps {
  chainId: number
  submitter: TransactionSender
  /** The chain's latest block now, for the machine's wait (undefined if the node does not say). */
  chainBlock(): Promise<bigint | undefined>
  logger: Logger
}

type SendEffect = Extract<SenderEffect, { kind: 'send' }>
type CancelEffect = Extract<SenderEffect, { kind: 'cancel' }>

/**
 * The machine's `send`: sign `bundle` at its nonce and fees, submit it, and answer `sendResult`
 * with the signed hash and what the endpoint said. A signing failure answers without a hash:
 * nothing left the process.
 */
export async function submitBundle(
  deps: SubmissionDeps,
  signer: Signer,
  bundle: Bundle,
  e: SendEffect,
): Promise<SenderEvent> {
  let raw: `0x${string}`
  const startedAt = performance.now()
  try {
    const common = {
      chainId: deps.chainId,
      nonce: Number(e.nonce),
      to: bundle.tx.to,
      data: bundle.tx.data,
      gas: bundle.tx.gas,
      maxFeePerGas: e.fees.maxFeePerGas,
      maxPriorityFeePerGas: e.fees.maxPriorityFeePerGas,
    }
    // Ops with EIP-7702 authorizations go out in a type-4 transaction carrying them.
    const auths = bundle.tx.authorizationList
    raw = await signer.signTransaction(
      auths?.length
        ? { ...common, type: 'eip7702', authorizationList: auths }
        : { ...common, type: 'eip1559' },
    )
  } catch (err) {
    return { kind: 'sendResult', result: { kind: 'error', error: 'rejected', message: errorMessage(err) } }
  }
  const hash = keccak256(raw)
  const signedAt = performance.now()
  const atBlock = await deps.chainBlock()
  try {
    await deps.submitter.send(raw, { expectedStorage: bundle.expectedStorage })
    deps.logger.info(
      {
        nonce: e.nonce,
        txHash: hash,
        ops: e.opHashes.length,
        gas: bundle.tx.gas.toString(),
        maxFeePerGas: e.fees.maxFeePerGas.toString(),
        maxPriorityFeePerGas: e.fees.maxPriorityFeePerGas.toString(),
        replacing: e.replacing,
        probe: e.probe,
        signMs: Math.round(signedAt - startedAt),
        sendMs: Math.round(performance.now() - signedAt),
      },
      'bundle submitted',
    )
    return { kind: 'sendResult', hash, result: { kind: 'sent' }, atBlock }
  } catch (err) {
    return { kind: 'sendResult', hash, result: failure(err), atBlock }
  }
}

/** The machine's `cancel`: the sender's hard or soft cancellation, answered as `cancelResult`. */
export async function submitCancellation(
  deps: SubmissionDeps,
  signer: Signer,
  e: CancelEffect,
): Promise<SenderEvent> {
  const atBlock = await deps.chainBlock()
  try {
    const result = await deps.submitter.cancel({ nonce: e.nonce, fees: e.fees, hash: e.txHash }, signer)
    return { kind: 'cancelResult', result, atBlock }
  } catch (err) {
    return { kind: 'cancelResult', result: failure(err) }
  }
}

function failure(err: unknown) {
  const error = err instanceof SendError ? err.kind : 'unavailable'
  return { kind: 'error' as const, error, message: errorMessage(err) }
}
