import { RpcCode, RpcError } from '../util/errors.js'
import { stringifyJson } from './encode.js'
import type { MethodTable } from './methods.js'

/**
 * JSON-RPC 2.0 over an already-read body: parsing, envelope checks, batches, dispatch and the
 * mapping of every failure to an error object. No I/O here, so the whole protocol is unit-testable.
 */

export type JsonRpcId = string | number | null

export interface JsonRpcErrorObject {
  code: number
  message: string
  data?: unknown
}

export interface DispatchOptions {
  maxBatchSize: number
}

export interface DispatchHooks {
  /** One call finished; `method` is a registered name or a fixed label (unknown, invalid). */
  onCall?(method: string, seconds: number, errorCode: number | undefined): void
  /** A handler threw something that is not an RpcError (a bug or an unexpected failure). */
  onInternalError?(method: string, err: unknown): void
}

/** Label for metrics when the request names no method we serve (keeps label cardinality bounded). */
export const UNKNOWN_METHOD = 'unknown'
export const INVALID_REQUEST = 'invalid'

export function errorResponse(id: JsonRpcId, error: JsonRpcErrorObject): string {
  try {
    return stringifyJson({ jsonrpc: '2.0', id, error })
  } catch {
    // data that cannot be serialized (a cycle): drop it rather than the answer
    return stringifyJson({ jsonrpc: '2.0', id, error: { code: error.code, message: error.message } })
  }
}

function resultResponse(id: JsonRpcId, result: unknown): string {
  return stringifyJson({ jsonrpc: '2.0', id, result: result === undefined ? null : result })
}

function isValidId(id: unknown): id is JsonRpcId {
  return id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id))
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Method names are echoed in messages; keep an attacker's megabyte-long name out of them. */
function shortName(name: string): string {
  return name.length > 64 ? `${name.slice(0, 64)}…` : name
}

export function toErrorObject(err: unknown): JsonRpcErrorObject | undefined {
  if (!(err instanceof RpcError)) return undefined
  const code = Number.isSafeInteger(err.code) ? err.code : RpcCode.InternalError
  const obj: JsonRpcErrorObject = { code, message: String(err.message) }
  if (err.data !== undefined) obj.data = err.data
  return obj
}

/** One request object → its serialized response, or undefined for a notification. */
async function handleOne(
  msg: unknown,
  methods: MethodTable,
  hooks: DispatchHooks,
): Promise<string | undefined> {
  const started = performance.now()
  const done = (method: string, code: number | undefined) =>
    hooks.onCall?.(method, (performance.now() - started) / 1000, code)
  const invalid = (id: JsonRpcId, message: string) => {
    done(INVALID_REQUEST, RpcCode.InvalidRequest)
    return errorResponse(id, { code: RpcCode.InvalidRequest, message })
  }

  if (!isPlainObject(msg)) return invalid(null, 'invalid request: expected a JSON-RPC request object')
  const hasId = Object.hasOwn(msg, 'id')
  if (hasId && !isValidId(msg.id))
    return invalid(null, 'invalid request: id must be a string, number or null')
  const id: JsonRpcId = hasId ? (msg.id as JsonRpcId) : null
  if (msg.jsonrpc !== '2.0') return invalid(id, 'invalid request: jsonrpc must be "2.0"')
  if (typeof msg.method !== 'string') return invalid(id, 'invalid request: method must be a string')
  if (msg.params !== undefined && typeof msg.params !== 'object')
    return invalid(id, 'invalid request: params must be an array or object')
  if (msg.params === null) return invalid(id, 'invalid request: params must be an array or object')

  const handler = methods.lookup(msg.method)
  if (!handler) {
    done(UNKNOWN_METHOD, RpcCode.MethodNotFound)
    if (!hasId) return undefined
    return errorResponse(id, {
      code: RpcCode.MethodNotFound,
      message: `method ${shortName(msg.method)} does not exist or is not available`,
    })
  }

  let response: string
  let code: number | undefined
  try {
    const result = await handler(msg.params)
    response = resultResponse(id, result)
  } catch (err) {
    let error = toErrorObject(err)
    if (!error) {
      hooks.onInternalError?.(msg.method, err)
      error = { code: RpcCode.InternalError, message: 'internal error' }
    }
    code = error.code
    response = errorResponse(id, error)
  }
  done(msg.method, code)
  return hasId ? response : undefined
}

/**
 * Answers one HTTP body. Returns the serialized response, or undefined when nothing is to be sent
 * (only notifications). Never throws for anything a client can send.
 */
export async function handleJsonRpc(
  body: string,
  methods: MethodTable,
  opts: DispatchOptions,
  hooks: DispatchHooks = {},
): Promise<string | undefined> {
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    hooks.onCall?.(INVALID_REQUEST, 0, RpcCode.ParseError)
    return errorResponse(null, { code: RpcCode.ParseError, message: 'parse error: invalid JSON' })
  }
  if (!Array.isArray(parsed)) return handleOne(parsed, methods, hooks)

  if (parsed.length === 0) {
    hooks.onCall?.(INVALID_REQUEST, 0, RpcCode.InvalidRequest)
    return errorResponse(null, { code: RpcCode.InvalidRequest, message: 'invalid request: empty batch' })
  }
  if (parsed.length > opts.maxBatchSize) {
    hooks.onCall?.(INVALID_REQUEST, 0, RpcCode.InvalidRequest)
    return errorResponse(null, {
      code: RpcCode.InvalidRequest,
      message: `invalid request: batch of ${parsed.length} exceeds the limit of ${opts.maxBatchSize}`,
    })
  }
  const answers = await Promise.all(parsed.map((m) => handleOne(m, methods, hooks)))
  const sent = answers.filter((a): a is string => a !== undefined)
  return sent.length === 0 ? undefined : `[${sent.join(',')}]`
}
