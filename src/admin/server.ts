import type { AddressInfo } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import Fastify from 'fastify'
import type { Registry } from 'prom-client'
import { stringifyJson } from '../rpc/encode.js'
import type { Health } from '../rpc/health.js'
import type { Logger } from '../util/log.js'
import type { StatusSnapshot } from './status.js'

export interface AdminServerDeps {
  host: string
  port: number
  registry: Registry
  health: () => Promise<Health>
  status: () => Promise<StatusSnapshot>
  logger: Logger
  /** How often the status page gets a fresh snapshot; default 1000 ms. */
  pushIntervalMs?: number
}

export interface AdminServer {
  readonly url: string
  close(): Promise<void>
}

const PUBLIC = join(dirname(fileURLToPath(import.meta.url)), 'public')

// The page loads only its own files: no CDN, no inline script, nothing from elsewhere.
const CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'"

/**
 * The metrics and admin server, on its own port: /metrics (Prometheus), /health, the status page
 * at / with its files, /status.json, and /events (server-sent events: one snapshot a second).
 */
export async function startAdminServer(deps: AdminServerDeps): Promise<AdminServer> {
  const log = deps.logger.child({ module: 'admin' })
  const app = Fastify({ logger: false, return503OnClosing: false, forceCloseConnections: true })
  app.addHook('onSend', async (_req, reply) => {
    void reply.header('Content-Security-Policy', CSP)
    void reply.header('X-Content-Type-Options', 'nosniff')
    void reply.header('Referrer-Policy', 'no-referrer')
  })
  await app.register(fastifyStatic, { root: PUBLIC, prefix: '/', index: 'index.html' })

  app.get('/metrics', async (_req, reply) => {
    const text = await deps.registry.metrics()
    return reply.type(deps.registry.contentType).send(text)
  })
  app.get('/health', async (_req, reply) => {
    const h = await deps.health()
    const body = h.ok
      ? stringifyJson({ status: 'ok', blockNumber: h.blockNumber })
      : stringifyJson({ status: 'unavailable', reason: h.reason })
    return reply
      .code(h.ok ? 200 : 503)
      .type('application/json')
      .send(body)
  })
  app.get('/status.json', async (_req, reply) =>
    reply
      .type('application/json')
      .header('Cache-Control', 'no-store')
      .send(stringifyJson(await deps.status())),
  )

  const streams = new Set<() => void>()
  app.get('/events', (req, reply) => {
    reply.hijack()
    const res = reply.raw
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'Content-Security-Policy': CSP,
      'X-Content-Type-Options': 'nosniff',
    })
    let busy = false
    const push = async () => {
      if (busy) return // a slow snapshot is skipped, not queued
      busy = true
      try {
        res.write(`data: ${stringifyJson(await deps.status())}\n\n`)
      } catch (err) {
        log.debug({ err: String(err) }, 'status snapshot failed')
      } finally {
        busy = false
      }
    }
    const timer = setInterval(push, deps.pushIntervalMs ?? 1000)
    const end = () => {
      clearInterval(timer)
      streams.delete(end)
      res.end()
    }
    streams.add(end)
    req.raw.on('close', end)
    void push()
  })

  await app.listen({ host: deps.host, port: deps.port })
  const addr = app.server.address() as AddressInfo
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address
  const url = `http://${host}:${addr.port}`
  log.info({ url }, 'metrics and admin server listening (/metrics, /health, status page at /)')
  return {
    url,
    async close() {
      for (const end of [...streams]) end()
      await app.close()
    },
  }
}
