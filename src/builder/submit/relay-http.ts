/**
 * JSON-RPC and GET over fetch for the private relays. viem's transport cannot sign the exact request
 * body into a header (Flashbots) and its errors would carry the request headers; this client owns
 * the bytes it sends, times out every call, and its errors hold only what the relay answered.
 */

/** What a relay answered when it did not answer with a result. */
export class RelayHttpError extends Error {
  constructor(
    message: string,
    /** HTTP status, when the relay answered at all. */
    readonly status?: number,
    /** JSON-RPC error code, when the answer was a JSON-RPC error. */
    readonly code?: number,
    /** The body was not the JSON it should have been (a broken relay or a proxy's page). */
    readonly malformed = false,
  ) {
    super(message)
    this.name = 'RelayHttpError'
  }
}

export interface RelayRequest {
  url: string
  /** Added to content-type; computed per body so a signature can cover it. */
  headers?: (body: string) => Record<string, string> | Promise<Record<string, string>>
  timeoutMs: number
}

/** Largest answer read; relays answer a hash or a short status. */
const MAX_BODY = 1 << 20

let nextId = 1

/** Builds the exact body that is sent (and signed). */
export function jsonRpcBody(method: string, params: unknown): string {
  return JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params })
}

/** POSTs one JSON-RPC call; resolves with `result`, rejects with RelayHttpError or the fetch error. */
export async function relayCall(req: RelayRequest, method: string, params: unknown): Promise<unknown> {
  const body = jsonRpcBody(method, params)
  const extra = req.headers ? await req.headers(body) : {}
  const res = await fetch(req.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...extra },
    body,
    signal: AbortSignal.timeout(req.timeoutMs),
  })
  const text = await readBody(res)
  const parsed = parseJson(text)
  const rpcError = jsonRpcError(parsed)
  if (rpcError) throw new RelayHttpError(rpcError.message, res.status, rpcError.code)
  if (!res.ok) throw new RelayHttpError(`HTTP ${res.status}${excerpt(text)}`, res.status)
  if (parsed === undefined || typeof parsed !== 'object' || parsed === null || !('result' in parsed)) {
    throw new RelayHttpError(`answer is not a JSON-RPC response${excerpt(text)}`, res.status, undefined, true)
  }
  return (parsed as { result: unknown }).result
}

/** GETs a JSON document (the Flashbots status API). */
export async function relayGet(url: string, timeoutMs: number): Promise<unknown> {
  const res = await fetch(url, { method: 'GET', signal: AbortSignal.timeout(timeoutMs) })
  const text = await readBody(res)
  const parsed = parseJson(text)
  if (!res.ok) {
    const err = jsonRpcError(parsed)
    throw new RelayHttpError(err?.message ?? `HTTP ${res.status}${excerpt(text)}`, res.status, err?.code)
  }
  if (parsed === undefined) throw new RelayHttpError('answer is not JSON', res.status, undefined, true)
  return parsed
}

async function readBody(res: Response): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? '0')
  if (declared > MAX_BODY) {
    await res.body?.cancel()
    throw new RelayHttpError(`answer too large (${declared} bytes)`, res.status, undefined, true)
  }
  const text = await res.text()
  if (text.length > MAX_BODY) throw new RelayHttpError('answer too large', res.status, undefined, true)
  return text
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/**
 * The error in a JSON-RPC error response, or in the `{"error": "…"}` bodies relays answer outside
 * JSON-RPC (Flashbots: 403 `{"error":"error in signature check 0x…"}`).
 */
function jsonRpcError(parsed: unknown): { message: string; code?: number } | undefined {
  if (typeof parsed !== 'object' || parsed === null) return undefined
  const e = (parsed as { error?: unknown }).error
  if (typeof e === 'string') return { message: e }
  if (typeof e !== 'object' || e === null) return undefined
  const { message, code } = e as { message?: unknown; code?: unknown }
  return {
    message: typeof message === 'string' ? message : JSON.stringify(e).slice(0, 200),
    code: typeof code === 'number' ? code : undefined,
  }
}

function excerpt(text: string): string {
  const t = text.trim().slice(0, 120)
  return t ? `: ${t}` : ''
}
