import type { AddressInfo, Socket } from 'node:net'
import Fastify, { type FastifyError, type FastifyReply } from 'fastify'
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
import { clientErrorResponse, httpFailure } from './http-errors.js'
import { allowOrigins, limitRate, type RateLimit } from './http-guards.js'
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
  /** Origins allowed by CORS (`*` for any); default `*` (wallets call bundlers from browsers). */
  corsOrigins?: readonly string[]
  /** Most concurrent connections; further ones are refused. Default 100. */
  maxConnections?: number
  /** Per-IP request rate of the JSON-RPC routes; default off. */
  rateLimit?: RateLimit
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

function sendJson(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply.code(status).type('application/json').send(body)
}

/**
 * The JSON-RPC server: fastify does the HTTP (body limit with a readable 413, CORS, per-IP rate
 * limit, connection cap); the JSON-RPC layer (`jsonrpc.ts`, `methods.ts`) answers each body.
 * Every answer, even to a malformed request, is a JSON-RPC object; nothing answers HTTP 5xx.
 */
export async function startRpcServer(deps: RpcServerDeps): Promise<RpcServer> {
  const log = deps.logger.child({ module: 'rpc' })
  const maxBodyBytes = deps.maxBodyBytes ?? MiB
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

  const app = Fastify({
    bodyLimit: maxBodyBytes,
    requestTimeout: 30_000,
    // New requests during close() still get a JSON-RPC answer, never a bare 503.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    logger: false,
    clientErrorHandler: (err: NodeJS.ErrnoException, socket: Socket) => {
      if (err.code === 'ECONNRESET' || !socket.writable) socket.destroy()
      else socket.end(clientErrorResponse(err))
    },
  })
  app.server.maxConnections = deps.maxConnections ?? 100
  app.server.headersTimeout = 20_000
  // The body stays text: JSON-RPC parses it itself (a parse error is -32700, not an HTTP 400),
  // whatever content type the client sent.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body))

  app.setErrorHandler((err: FastifyError, _req, reply) => {
    const f = httpFailure(err, maxBodyBytes)
    if (f.label === 'internal') log.error({ err }, 'RPC request failed')
    hooks.onCall(f.label, 0, f.code)
    return sendJson(reply, f.status, errorResponse(null, { code: f.code, message: f.message }))
  })
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? ''
    if (path === '/' || path === '/rpc') {
      void reply.header('Allow', 'POST')
      const message = 'invalid request: JSON-RPC requests must be POSTed'
      return sendJson(reply, 405, errorResponse(null, { code: RpcCode.InvalidRequest, message }))
    }
    const message = `not found: ${req.method} ${path.slice(0, 64)}`
    return sendJson(reply, 404, errorResponse(null, { code: RpcCode.InvalidRequest, message }))
  })

  await allowOrigins(app, deps.corsOrigins ?? ['*'])
  await limitRate(app, deps.rateLimit ?? { perIp: 0, windowMs: 1000 })

  const rpcRoute = {
    config: { rateLimit: {} },
    handler: async (req: { body: unknown }, reply: FastifyReply) => {
      const body = typeof req.body === 'string' ? req.body : ''
      const answer = await handleJsonRpc(body, table, { maxBatchSize }, hooks)
      if (answer === undefined) return reply.code(204).send() // only notifications: nothing to say
      return sendJson(reply, 200, answer)
    },
  }
  app.post('/', rpcRoute)
  app.post('/rpc', rpcRoute)
  app.get('/health', async (_req, reply) => {
    const h = await checkHealth({
      client: deps.client,
      pool: deps.pool,
      timeoutMs: deps.healthTimeoutMs ?? 2000,
    })
    if (h.ok) return sendJson(reply, 200, stringifyJson({ status: 'ok', blockNumber: h.blockNumber }))
    return sendJson(reply, 503, stringifyJson({ status: 'unavailable', reason: h.reason }))
  })

  await app.listen({ port: deps.port ?? 0, host: deps.host ?? '127.0.0.1' })
  const addr = app.server.address() as AddressInfo
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
      closed ??= (async () => {
        const force = setTimeout(() => app.server.closeAllConnections(), deps.closeGraceMs ?? 5000)
        await app.close()
        clearTimeout(force)
        log.info({ url }, 'RPC server closed')
      })()
      return closed
    },
  }
}
