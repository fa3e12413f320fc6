import type { SendErrorKind } from '../builder/submit/outcome.js'

/**
 * Maps whatever a node (geth, reth, erigon, anvil, hardhat, …) or the transport said about a
 * submitted transaction onto the kinds the bundle sender acts on.
 *
 * Matching is by case-insensitive substring over every message the error carries (viem errors are
 * walked through `cause`, `details`, `shortMessage`; raw JSON-RPC error objects and responses work
 * too). Order matters: the specific spellings come first, because several contain more general ones
 * ("replacement transaction underpriced" contains "transaction underpriced").
 */

type Matcher = string | RegExp

const RULES: ReadonlyArray<readonly [SendErrorKind, readonly Matcher[]]> = [
  [
    'replacement_underpriced',
    [
      'replacement transaction underpriced', // geth, reth, anvil, hardhat ("Replacement transaction underpriced. …")
      'could not replace existing tx', // erigon
      'an existing transaction had higher priority', // nethermind-style
    ],
  ],
  [
    'nonce_too_low',
    [
      'nonce too low', // geth, anvil, hardhat ("Nonce too low. Expected nonce to be …")
      'invalid nonce; got', // erigon
    ],
  ],
  [
    'already_known',
    [
      'already known', // geth
      'transaction already imported', // anvil
      // geth's "known transaction", hardhat's "Known transaction: 0x…", but not "unknown transaction type"
      /(^|[^a-z])known transaction/,
    ],
  ],
  [
    'insufficient_funds',
    [
      'insufficient funds', // geth, anvil ("Insufficient funds for gas * price + value")
      "doesn't have enough funds", // hardhat ("Sender doesn't have enough funds to send tx …")
    ],
  ],
  [
    'intrinsic_gas_too_low',
    [
      'intrinsic gas too low', // geth, anvil
      'transaction requires at least', // hardhat ("Transaction requires at least 21000 gas …")
    ],
  ],
  [
    'underpriced',
    [
      'transaction underpriced', // geth
      'txpool is full', // geth
      'max fee per gas less than block base fee', // geth, anvil
      'fee cap less than block base fee', // older geth
      'is too low for the next block', // hardhat ("… is too low for the next block, which has a baseFeePerGas of …")
    ],
  ],
  ['condition_not_met', ['condition not met']],
]

// The transport, not the node's verdict on the transaction: try again later.
const UNAVAILABLE: readonly Matcher[] = [
  'fetch failed',
  'econnrefused',
  'econnreset',
  'econnaborted',
  'etimedout',
  'ehostunreach',
  'enetunreach',
  'epipe',
  'socket hang up',
  'other side closed',
  'connection refused',
  'connection reset',
  'timed out',
  'timeout',
  'too many requests',
  'rate limit',
  'service unavailable',
  'bad gateway',
  'gateway timeout',
  'und_err_', // undici socket/header/body errors
]

const UNAVAILABLE_ERROR_NAMES = new Set([
  'TimeoutError',
  'AbortError',
  'SocketClosedError',
  'WebSocketRequestError',
])

// Codes the conditional method (eth_sendRawTransactionConditional) uses for "condition not met".
const CONDITIONAL_CODES = new Set([-32003, -32005])
// -32005 is "limit exceeded" (rate limiting) on ordinary methods.
const RATE_LIMIT_CODES = new Set([-32005, 429])

export interface ClassifyOptions {
  /** The error came from eth_sendRawTransactionConditional: -32003/-32005 then mean "condition not met". */
  conditional?: boolean
}

/** What an error says, gathered from every level of its cause chain. */
export interface ErrorFacts {
  /** Every message-like string, lower-cased. */
  texts: string[]
  /** JSON-RPC error codes (and errno-style numeric codes) found anywhere in the chain. */
  codes: number[]
  /** HTTP statuses found anywhere in the chain. */
  statuses: number[]
  /** Error class names (`name`) found anywhere in the chain. */
  names: string[]
  /** String error codes such as ECONNREFUSED. */
  errnos: string[]
}

const MAX_DEPTH = 12

/** Walks an error (viem error, Error with cause, JSON-RPC error object or response, string). */
export function errorFacts(err: unknown): ErrorFacts {
  const facts: ErrorFacts = { texts: [], codes: [], statuses: [], names: [], errnos: [] }
  const seen = new Set<unknown>()
  const visit = (v: unknown, depth: number): void => {
    if (v === null || v === undefined || depth > MAX_DEPTH) return
    if (typeof v === 'string') {
      if (v.length > 0) facts.texts.push(v.toLowerCase())
      return
    }
    if (typeof v !== 'object' || seen.has(v)) return
    seen.add(v)
    const o = v as Record<string, unknown>
    for (const key of ['shortMessage', 'details', 'message', 'reason']) visit(o[key], depth + 1)
    if (typeof o.name === 'string' && o.name !== 'Error') facts.names.push(o.name)
    if (typeof o.code === 'number') facts.codes.push(o.code)
    if (typeof o.code === 'string') facts.errnos.push(o.code.toLowerCase())
    if (typeof o.status === 'number') facts.statuses.push(o.status)
    // JSON-RPC response {error: {...}}, error data (a string or nested object), the cause chain,
    // AggregateError's members (undici reports refused IPv4/IPv6 attempts this way).
    visit(o.error, depth + 1)
    visit(o.data, depth + 1)
    visit(o.cause, depth + 1)
    if (Array.isArray(o.errors)) for (const e of o.errors) visit(e, depth + 1)
  }
  visit(err, 0)
  return facts
}

function matches(texts: readonly string[], m: Matcher): boolean {
  return texts.some((t) => (typeof m === 'string' ? t.includes(m) : m.test(t)))
}

export function classifySendError(err: unknown, opts: ClassifyOptions = {}): SendErrorKind {
  const facts = errorFacts(err)
  // Message first: anvil answers -32003 for most rejections, so the code alone says little.
  for (const [kind, matchers] of RULES) {
    if (matchers.some((m) => matches(facts.texts, m))) return kind
  }
  if (opts.conditional && facts.codes.some((c) => CONDITIONAL_CODES.has(c))) return 'condition_not_met'
  if (isUnavailable(facts)) return 'unavailable'
  return 'rejected'
}

function isUnavailable(f: ErrorFacts): boolean {
  if (f.names.some((n) => UNAVAILABLE_ERROR_NAMES.has(n))) return true
  // viem's HttpRequestError without a status: the request never got an HTTP answer.
  if (f.names.includes('HttpRequestError') && f.statuses.length === 0) return true
  if (f.statuses.some((s) => s >= 500 || s === 429 || s === 408)) return true
  if (f.codes.some((c) => RATE_LIMIT_CODES.has(c))) return true
  if (f.errnos.some((e) => UNAVAILABLE.some((m) => typeof m === 'string' && e.includes(m)))) return true
  return UNAVAILABLE.some((m) => matches(f.texts, m))
}
