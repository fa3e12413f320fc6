import type { TxStatus } from './types.js'

/** The Flashbots Protect status API's verdicts (GET <status url>/tx/<hash>). */
export type FlashbotsTxStatus = 'PENDING' | 'INCLUDED' | 'FAILED' | 'CANCELLED' | 'UNKNOWN'

/**
 * FAILED (expired unmined or reverted in simulation) and CANCELLED mean the relay will never
 * include it: dropped. UNKNOWN is not dropped: the status API lags the submission RPC.
 */
export function toTxStatus(answer: unknown): TxStatus {
  const raw =
    typeof answer === 'object' && answer !== null ? (answer as { status?: unknown }).status : undefined
  switch (typeof raw === 'string' ? raw.toUpperCase() : undefined) {
    case 'PENDING':
      return 'pending'
    case 'INCLUDED':
      return 'included'
    case 'FAILED':
    case 'CANCELLED':
      return 'dropped'
    default:
      return 'unknown'
  }
}

export function statusUrl(base: string, hash: string): string {
  return `${base.replace(/\/+$/, '')}/tx/${hash}`
}
