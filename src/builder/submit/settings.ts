import type { Hex } from 'viem'
import type { ChainSpec } from '../../chain/chain-spec.js'
import { SENDER_KINDS } from '../../config/schema.js'
import type { Logger } from '../../util/log.js'
import type { CircuitSettings } from './circuit.js'

// One list of sender kinds: the option schema's.
export { SENDER_KINDS }
export type SenderKind = (typeof SENDER_KINDS)[number]

/** Plain settings; the config layer maps `--builder.*` onto them. */
export interface TransactionSenderSettings {
  /** `--builder.sender`. */
  kind: SenderKind
  /** `--builder.use_conditional_rpc` (raw only). */
  useConditionalRpc: boolean
  /** `--builder.submit_url`: the raw/conditional endpoint, or the relay of a private sender. */
  submitUrl?: string
  /** The chain's node: default raw endpoint, fallback path, bloXroute cancellations. */
  nodeUrl: string
  chainId: number
  chainSpec: ChainSpec
  /** `--builder.flashbots_relay_auth_key`. */
  flashbotsRelayAuthKey?: Hex
  /** Default: `submitUrl`, else the chain's Flashbots Protect URL. */
  flashbotsRelayUrl?: string
  /** `--builder.flashbots_status_url`. Default: the relay URL given, else the chain's status API. */
  flashbotsStatusUrl?: string
  /** Default: `submitUrl`, else bloXroute's cloud API. */
  bloxrouteUrl?: string
  /** `--builder.bloxroute_auth_header`. */
  bloxrouteAuthHeader?: string
  /** For private senders: when to fall back to raw through the node. */
  fallback: CircuitSettings
  /** Per HTTP call (default 10 000). */
  timeoutMillis?: number
  logger?: Logger
  /** Tests only: run a private sender on a chain its relay does not serve (anvil). */
  allowAnyChain?: boolean
  /** Ask the conditional endpoint at start-up whether it knows the method (default true). */
  probeConditional?: boolean
}

/** A sender configuration that cannot work; the message names the option and never a secret. */
export class SenderConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SenderConfigError'
  }
}

/** Public endpoints per chain, used when no URL is configured. */
const FLASHBOTS: Record<number, { relay: string; status: string }> = {
  1: { relay: 'https://rpc.flashbots.net/fast', status: 'https://protect.flashbots.net' },
  11155111: { relay: 'https://rpc-sepolia.flashbots.net', status: 'https://protect-sepolia.flashbots.net' },
}
const BLOXROUTE_URL = 'https://api.blxrbdn.com'

export interface ResolvedFlashbots {
  relayUrl: string
  statusUrl: string
  authKey: Hex
}

/** Every reason the settings cannot produce a sender, in one list. Pure. */
export function senderProblems(s: TransactionSenderSettings): string[] {
  const problems: string[] = []
  const chain = `chain ${s.chainId} (${s.chainSpec.name})`
  if (s.useConditionalRpc && s.kind !== 'raw') {
    problems.push(`--builder.use_conditional_rpc works only with --builder.sender=raw, not ${s.kind}`)
  }
  if (s.kind === 'flashbots') {
    if (!s.chainSpec.flashbots && !s.allowAnyChain) {
      problems.push(
        `--builder.sender=flashbots serves Ethereum mainnet and Sepolia only; ${chain} has no Flashbots Protect relay`,
      )
    }
    if (!s.flashbotsRelayAuthKey)
      problems.push('--builder.sender=flashbots needs --builder.flashbots_relay_auth_key')
    if (!s.flashbotsRelayUrl && !s.submitUrl && !FLASHBOTS[s.chainId]) {
      problems.push(`--builder.sender=flashbots on ${chain} needs --builder.submit_url (the relay)`)
    }
  }
  if (s.kind === 'polygon_bloxroute') {
    if (!s.chainSpec.bloxroute && !s.allowAnyChain) {
      problems.push(
        `--builder.sender=polygon_bloxroute serves Polygon only; ${chain} has no bloXroute private transactions`,
      )
    }
    if (!s.bloxrouteAuthHeader)
      problems.push('--builder.sender=polygon_bloxroute needs --builder.bloxroute_auth_header')
  }
  const f = s.fallback
  if (!Number.isInteger(f.maxConsecutiveUnavailable) || f.maxConsecutiveUnavailable < 0) {
    problems.push('fallback: maxConsecutiveUnavailable must be a whole number ≥ 0')
  }
  if (!Number.isFinite(f.recoveryMillis) || f.recoveryMillis < 0)
    problems.push('fallback: recoveryMillis must be ≥ 0')
  return problems
}

export function resolveFlashbots(s: TransactionSenderSettings): ResolvedFlashbots {
  const known = FLASHBOTS[s.chainId]
  const given = s.flashbotsRelayUrl ?? s.submitUrl
  const relayUrl = given ?? known?.relay
  if (!relayUrl || !s.flashbotsRelayAuthKey) throw new SenderConfigError(senderProblems(s).join('; '))
  // The config documents the status URL defaulting to the relay URL given.
  const statusUrl = s.flashbotsStatusUrl ?? given ?? known?.status ?? relayUrl
  return { relayUrl, statusUrl, authKey: s.flashbotsRelayAuthKey }
}

export function resolveBloxrouteUrl(s: TransactionSenderSettings): string {
  return s.bloxrouteUrl ?? s.submitUrl ?? BLOXROUTE_URL
}
