import { classifySendError, errorFacts } from '../../chain/node-errors.js'
import type { SendErrorKind } from './outcome.js'
import { RelayHttpError } from './relay-http.js'
import { SendError } from './types.js'

/**
 * Relay answers that mean "your credentials were refused": a wrong Flashbots reputation key or
 * bloXroute Authorization header. Flashbots answers 403 `error in signature check`, or -32025
 * "invalid flashbots signature"; bloXroute answers with an authorization message.
 */
const AUTH_STATUSES = new Set([401, 403])
const AUTH_CODES = new Set([-32025])
const AUTH_TEXT = [
  /signature check/,
  /flashbots[- ]signature/,
  /signature is required/,
  /unauthori[sz]ed/,
  /not authori[sz]ed/,
  /forbidden/,
  /invalid authori[sz]ation/,
  /authori[sz]ation header/,
  /access denied/,
]

export function isAuthFailure(err: unknown): boolean {
  if (err instanceof RelayHttpError && err.status !== undefined && AUTH_STATUSES.has(err.status)) return true
  const facts = errorFacts(err)
  if (facts.codes.some((c) => AUTH_CODES.has(c))) return true
  return facts.texts.some((t) => AUTH_TEXT.some((re) => re.test(t)))
}

/** The kind a relay's answer (or the transport's failure) means for the state machine. */
export function classifyRelayError(err: unknown): SendErrorKind {
  if (isAuthFailure(err)) return 'rejected'
  // An answer that is not JSON-RPC: a broken relay or a proxy page, not a verdict on the tx.
  if (err instanceof RelayHttpError && err.malformed) return 'unavailable'
  return classifySendError(err)
}

export interface RelayFailureContext {
  /** "flashbots relay", "bloxroute relay". */
  relay: string
  /** The option to check when the credentials are refused, e.g. `--builder.flashbots_relay_auth_key`. */
  authOption: string
  /** Values scrubbed from every message (the relay could echo a header back). */
  secrets: readonly string[]
}

/** A SendError whose message says what the relay said, names the option on an auth failure, and holds no secret. */
export function relayFailure(err: unknown, ctx: RelayFailureContext): SendError {
  const kind = classifyRelayError(err)
  const said = scrub(describe(err), ctx.secrets)
  const message = isAuthFailure(err)
    ? `${ctx.relay} refused the credentials (${said}); check ${ctx.authOption}`
    : `${ctx.relay}: ${said}`
  return new SendError(kind, message)
}

function describe(err: unknown): string {
  if (err instanceof RelayHttpError) {
    const parts = [
      err.status !== undefined ? `HTTP ${err.status}` : '',
      err.code !== undefined ? `code ${err.code}` : '',
    ]
    const where = parts.filter(Boolean).join(', ')
    return (where ? `${where}: ${err.message}` : err.message).slice(0, 300)
  }
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } }
  if (e?.name === 'TimeoutError') return 'timed out'
  const cause = e?.cause?.code ?? e?.cause?.message
  return `${e?.message ?? String(err)}${cause ? ` (${cause})` : ''}`.slice(0, 300)
}

export function scrub(text: string, secrets: readonly string[]): string {
  let out = text
  for (const s of secrets) {
    // Short values would blank ordinary words; credentials are long.
    if (s.length >= 8) out = out.split(s).join('[redacted]')
  }
  return out
}
