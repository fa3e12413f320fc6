import { silentLogger } from '../../util/log.js'
import { BloxrouteTransactionSender } from './bloxroute.js'
import { CONDITIONAL_METHOD, ConditionalTransactionSender, probeConditionalSupport } from './conditional.js'
import { FallbackTransactionSender } from './fallback.js'
import { FlashbotsTransactionSender } from './flashbots.js'
import { RawTransactionSender } from './raw.js'
import {
  resolveBloxrouteUrl,
  resolveFlashbots,
  SenderConfigError,
  senderProblems,
  type TransactionSenderSettings,
} from './settings.js'
import type { TransactionSender } from './types.js'

export { type BloxrouteSenderOptions, BloxrouteTransactionSender } from './bloxroute.js'
export { afterPrivateSend, type CircuitSettings, type CircuitState, CLOSED, route } from './circuit.js'
export {
  CONDITIONAL_METHOD,
  type ConditionalProbe,
  type ConditionalSenderOptions,
  ConditionalTransactionSender,
  probeConditionalSupport,
} from './conditional.js'
export { type FallbackOptions, FallbackTransactionSender } from './fallback.js'
export { type FlashbotsSenderOptions, FlashbotsTransactionSender } from './flashbots.js'
export { FlashbotsAuthSigner } from './flashbots-signature.js'
export { type FlashbotsTxStatus, toTxStatus } from './flashbots-status.js'
export { changedAccounts, type KnownAccounts, toKnownAccounts } from './known-accounts.js'
export type { SendErrorKind } from './outcome.js'
export { type RawSenderOptions, RawTransactionSender, signCancellation, submitRaw } from './raw.js'
export { classifyRelayError, isAuthFailure } from './relay-errors.js'
export {
  SENDER_KINDS,
  SenderConfigError,
  type SenderKind,
  senderProblems,
  type TransactionSenderSettings,
} from './settings.js'
export { recheckStorage } from './storage-check.js'
export {
  CANCELLATION_GAS,
  type CancelResult,
  type CancelTarget,
  type ExpectedStorage,
  SendError,
  type SendOptions,
  type TransactionSender,
  type TxStatus,
} from './types.js'

/**
 * The sender `--builder.sender` and `--builder.use_conditional_rpc` select: raw, conditional, or a
 * private relay wrapped in the fallback to raw through the node. Throws SenderConfigError when the
 * chain or the options do not fit, and (conditional) when the endpoint lacks the method.
 */
export async function createTransactionSender(s: TransactionSenderSettings): Promise<TransactionSender> {
  const problems = senderProblems(s)
  if (problems.length > 0) throw new SenderConfigError(problems.join('; '))
  const logger = (s.logger ?? silentLogger).child({ component: 'submit' })
  const timeoutMs = s.timeoutMillis
  const submitUrl = s.submitUrl ?? s.nodeUrl

  if (s.kind === 'raw') {
    if (!s.useConditionalRpc) return new RawTransactionSender({ submitUrl, chainId: s.chainId, timeoutMs })
    if (s.probeConditional ?? true)
      await assertConditionalSupport(submitUrl, s.submitUrl ? '--builder.submit_url' : 'the node')
    logger.info({ method: CONDITIONAL_METHOD }, 'conditional submission enabled')
    return new ConditionalTransactionSender({ submitUrl, chainId: s.chainId, timeoutMs })
  }

  const primary =
    s.kind === 'flashbots'
      ? new FlashbotsTransactionSender({ ...resolveFlashbots(s), timeoutMs, logger })
      : new BloxrouteTransactionSender({
          relayUrl: resolveBloxrouteUrl(s),
          authHeader: s.bloxrouteAuthHeader as string,
          nodeUrl: s.nodeUrl,
          chainId: s.chainId,
          timeoutMs,
          logger,
        })
  if (s.fallback.maxConsecutiveUnavailable === 0) return primary
  // The way out is the node itself, never the relay URL that just failed.
  const raw = new RawTransactionSender({ submitUrl: s.nodeUrl, chainId: s.chainId, timeoutMs })
  return new FallbackTransactionSender(primary, raw, { ...s.fallback, logger })
}

async function assertConditionalSupport(url: string, where: string): Promise<void> {
  const probe = await probeConditionalSupport(url)
  if (probe.kind === 'unsupported') {
    throw new SenderConfigError(
      `--builder.use_conditional_rpc is set but ${where} does not support ${CONDITIONAL_METHOD} (${probe.message})`,
    )
  }
  if (probe.kind === 'unreachable') {
    throw new SenderConfigError(
      `--builder.use_conditional_rpc: could not ask ${where} whether it supports ${CONDITIONAL_METHOD} (${probe.message})`,
    )
  }
}
