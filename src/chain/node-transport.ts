import { Agent, request } from 'undici'
import {
  createTransport,
  type EIP1193RequestFn,
  HttpRequestError,
  RpcRequestError,
  stringify,
  TimeoutError,
  type Transport,
} from 'viem'
import { errorMessage } from '../util/errors.js'

export interface NodeTransportOptions {
  /** Milliseconds for the whole exchange, response body included (viem's default, 10 s). */
  timeout?: number
  /** Retries of a failed request, by viem's rules (rate limits, 5xx, timeouts…). */
  retryCount?: number
  /** Connections kept open to the node at most. */
  connections?: number
}

/** A response larger than this is refused (viem's own cap): a node never answers a call with more. */
const MAX_RESPONSE_BYTES = 10 * 1024 * 1024

/**
 * The node's JSON-RPC over HTTP for the bundler's busy client: the same requests, errors and retries
 * as viem's `http` transport (its error classes, so every caller's decoding is unchanged), on undici's
 * `request` with kept-alive connections. Under load viem's transport was a quarter of Conveyor's CPU:
 * per request it builds a fetch `Request` and its streams twice, and an eager timeout error that
 * stringifies the body again (a simulation call carries ~20 KB of bytecode). undici is Node's own
 * HTTP client library, and `request` is its lean API.
 */
export function nodeTransport(
  url: string,
  opts: NodeTransportOptions = {},
): { transport: Transport; close: () => Promise<void> } {
  const timeout = opts.timeout ?? 10_000
  const { endpoint, headers } = splitCredentials(url)
  const dispatcher = new Agent({ connections: opts.connections ?? 64, keepAliveTimeout: 30_000 })
  let nextId = 1
  const transport: Transport = ({ retryCount }) =>
    createTransport(
      {
        key: 'http',
        name: 'HTTP JSON-RPC',
        type: 'http',
        timeout,
        retryCount: opts.retryCount ?? retryCount,
        request: (async ({ method, params }: { method: string; params?: unknown }) => {
          const body = { method, params }
          const data = await exchange(endpoint, headers, dispatcher, timeout, body, nextId++)
          if (data.error) throw new RpcRequestError({ body, error: data.error, url: endpoint })
          return data.result
        }) as EIP1193RequestFn,
      },
      // The URL as errors show it: without credentials.
      { url: endpoint },
    )
  return { transport, close: () => dispatcher.close() }
}

interface RpcResponse {
  result?: unknown
  error?: { code: number; message: string; data?: unknown }
}

async function exchange(
  endpoint: string,
  headers: Record<string, string>,
  dispatcher: Agent,
  timeout: number,
  body: { method: string; params?: unknown },
  id: number,
): Promise<RpcResponse> {
  const signal = AbortSignal.timeout(timeout)
  let status: number
  let text: string
  try {
    const res = await request(endpoint, {
      method: 'POST',
      headers,
      body: stringify({ jsonrpc: '2.0', id, ...body }),
      dispatcher,
      signal,
    })
    status = res.statusCode
    text = await readCapped(res.body)
  } catch (err) {
    if (signal.aborted) throw new TimeoutError({ body, url: endpoint })
    throw new HttpRequestError({ body, url: endpoint, details: errorMessage(err), cause: err as Error })
  }
  let data: RpcResponse | undefined
  try {
    data = JSON.parse(text) as RpcResponse
  } catch {
    data = undefined
  }
  const rpcError = typeof data?.error?.code === 'number' && typeof data.error.message === 'string'
  // A JSON-RPC error is the node's answer whatever the HTTP status (viem reads it the same way).
  if (data && (rpcError || (status >= 200 && status < 300))) return data
  throw new HttpRequestError({ body, url: endpoint, status, details: text.slice(0, 200) || `HTTP ${status}` })
}

async function readCapped(stream: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of stream) {
    size += chunk.length
    if (size > MAX_RESPONSE_BYTES) throw new Error(`response body over ${MAX_RESPONSE_BYTES} bytes`)
    chunks.push(chunk)
  }
  return Buffer.concat(chunks, size).toString('utf8')
}

/** Credentials in the URL become a basic Authorization header (as viem does), out of the URL used. */
function splitCredentials(url: string): { endpoint: string; headers: Record<string, string> } {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  const u = new URL(url)
  if (u.username || u.password) {
    const user = decodeURIComponent(u.username)
    const pass = decodeURIComponent(u.password)
    headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`
    u.username = ''
    u.password = ''
  }
  return { endpoint: u.toString(), headers }
}
