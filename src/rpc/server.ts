import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { Registry } from 'prom-client'
import type { Address, PublicClient } from 'viem'
import type { Pool, PoolDebug, PoolQuery } from '../pool/types.js'
import type { GasEstimator } from '../sim/types.js'
import { RpcCode } from '../util/errors.js'
import type { Logger } from '../util/log.js'
import { registerDebug } from './debug.js'
import { stringifyJson } from './encode.js'
import { registerEth } from './eth.js'
import { checkHealth } from './health.js'
import { readBody } from './http-body.js'
import { errorResponse, handleJsonRpc } from './jsonrpc.js'
import { type MethodHandler, MethodTable, type RegisterOptions } from './methods.js'
import { createRpcMetrics } from './metrics.js'
import { createOpLookup } from './op-lookup.js'

export type { MethodHandler, RegisterOptions } from './methods.js'

export interface RpcServerDeps {
  chainId: number
  entryPoints: Address[]
  pool: Pool & PoolQuery & PoolDebug
  estimator: GasEstimator
  client: PublicClient
  registry: Registry
  logger: Logger
  enableDebug: boolean
  /** Largest accepted request body; default 1 MiB. */
  maxBodyBytes?: number
  /** Largest accepted batch; default 100. */
  maxBatchSize?: number
  /** Default 127.0.0.1. */
  host?: string
  /** 0 (default) picks a free port; `url` reports the real one. */
  port?: number
  /** eth_getLogs range for ops the pool forgot; default the whole chain. */
  opLookupBlockDistance?: bigint
  /** How long /health waits for the node and the pool; default 2000 ms. */
  healthTimeoutMs?: number
  /** Access-Control-Allow-Origin; default '*' (wallets call bundlers from browsers). */
  corsOrigin?: string
  /** How long close() lets in-flight requests finish; default 5000 ms. */
  closeGraceMs?: number
}

export interface RpcServer {
  /** `http://host:port` with the real port. */
  readonly url: string
  readonly port: number
  /** Adds a method later (the builder's debug_bundler_sendBundleNow and friends). */
  register(name: string, handler: MethodHandler, opts?: RegisterOptions): void
  /** Methods served right now. */
  methods(): string[]
  close(): Promise<void>
}

const MiB = 1024 * 1024

function sendJson(res: ServerResponse, status: number, body: string, close = false): void {
  if (res.headersSent) return
  res.statusCode = status
  res.setHeader('Content-Type', 'application/json')
  res.setHeader('Content-Length', Buffer.byteLength(body))
  if (close) res.setHeader('Connection', 'close')
  res.end(body)
}

function rpcError(res: ServerResponse, status: number, code: number, message: string, close = false): void {
  sendJson(res, status, errorResponse(null, { code, message }), close)
}

/** Raw HTTP answer for a request node:http could not even parse (no ServerResponse exists then). */
function clientErrorResponse(err: NodeJS.ErrnoException): string {
  const [status, text] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout']
        : [400, 'Bad Request']
  const body = errorResponse(null, { code: RpcCode.InvalidRequest, message: `invalid HTTP request: ${text}` })
  return `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
}

export async function startRpcServer(deps: RpcServerDeps): Promise<RpcServer> {
  const log = deps.logger.child({ module: 'rpc' })
  const maxBodyBytes = deps.maxBodyBytes ?? MiB
  // Read (and drop) an oversized body up to this much so the client gets our answer, not a reset.
  const drainCapBytes = Math.max(16 * maxBodyBytes, 16 * MiB)
  const maxBatchSize = deps.maxBatchSize ?? 100
  const table = new MethodTable(deps.enableDebug)
  const metrics = createRpcMetrics(deps.registry)
  const lookup = createOpLookup({
    client: deps.client,
    entryPoints: deps.entryPoints,
    blockDistance: deps.opLookupBlockDistance,
  })
  registerEth(table, { ...deps, lookup })
  registerDebug(table, deps)

  const hooks = {
    onCall: (method: string, seconds: number, code: number | undefined) =>
      metrics.observe(method, seconds, code),
    onInternalError: (method: string, err: unknown) => log.error({ err, method }, 'RPC handler failed'),
  }
  let closing = false

  async function handleRpc(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST')
      rpcError(res, 405, RpcCode.InvalidRequest, 'invalid request: JSON-RPC requests must be POSTed')
      return
    }
    const read = await readBody(req, maxBodyBytes, drainCapBytes)
    if (!read.ok) {
      if (read.reason === 'aborted') return
      hooks.onCall('invalid', 0, RpcCode.InvalidRequest)
      rpcError(res, 413, RpcCode.InvalidRequest, `request body exceeds ${maxBodyBytes} bytes`, true)
      if (!read.drained) res.once('finish', () => req.socket.destroy())
      return
    }
    const answer = await handleJsonRpc(read.body, table, { maxBatchSize }, hooks)
    if (answer === undefined) {
      res.statusCode = 204 // only notifications: nothing to say
      res.end()
      return
    }
    sendJson(res, 200, answer, closing)
  }

  async function handleHealth(res: ServerResponse): Promise<void> {
    const h = await checkHealth({
      client: deps.client,
      pool: deps.pool,
      timeoutMs: deps.healthTimeoutMs ?? 2000,
    })
    if (h.ok) sendJson(res, 200, stringifyJson({ status: 'ok', blockNumber: h.blockNumber }))
    else sendJson(res, 503, stringifyJson({ status: 'unavailable', reason: h.reason }))
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const path = (req.url ?? '/').split('?')[0]
      res.setHeader('Access-Control-Allow-Origin', deps.corsOrigin ?? '*')
      if (req.method === 'OPTIONS') {
        res.setHeader('Access-Control-Allow-Methods', 'POST, GET, OPTIONS')
        res.setHeader('Access-Control-Allow-Headers', 'Content-Type')
        res.statusCode = 204
        res.end()
        return
      }
      if (path === '/' || path === '/rpc') return await handleRpc(req, res)
      if (path === '/health' && req.method === 'GET') return await handleHealth(res)
      if (path === '/metrics' && req.method === 'GET') {
        const text = await deps.registry.metrics()
        res.setHeader('Content-Type', deps.registry.contentType)
        res.end(text)
        return
      }
      rpcError(res, 404, RpcCode.InvalidRequest, `not found: ${req.method} ${path?.slice(0, 64)}`)
    } catch (err) {
      // Nothing a client sends should get here; if something does, it is still a JSON-RPC answer.
      log.error({ err }, 'RPC request failed')
      rpcError(res, 200, RpcCode.InternalError, 'internal error')
    }
  }

  const server = createServer({ requestTimeout: 30_000, headersTimeout: 20_000 }, (req, res) => {
    if (closing) res.setHeader('Connection', 'close')
    res.once('finish', () => {
      if (closing) server.closeIdleConnections()
    })
    void onRequest(req, res)
  })
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy()
      return
    }
    socket.end(clientErrorResponse(err))
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(deps.port ?? 0, deps.host ?? '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const addr = server.address() as AddressInfo
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address
  const url = `http://${host}:${addr.port}`
  log.info({ url, debug: deps.enableDebug, entryPoints: deps.entryPoints }, 'RPC server listening')

  let closed: Promise<void> | undefined
  return {
    url,
    port: addr.port,
    register: (name, handler, opts) => table.register(name, handler, opts),
    methods: () => table.names(),
    close() {
      closed ??= new Promise<void>((resolve) => {
        closing = true
        const force = setTimeout(() => server.closeAllConnections(), deps.closeGraceMs ?? 5000)
        server.close(() => {
          clearTimeout(force)
          log.info({ url }, 'RPC server closed')
          resolve()
        })
        server.closeIdleConnections()
      })
      return closed
    },
  }
}
