import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { localListener } from './local-server.js'

/**
 * The HTTP part every test relay shares: a server on 127.0.0.1 that can be taken down (connections
 * refused) and brought back on the same port, made to answer 503, or to lag before answering.
 */
export type RelayHealth = 'up' | 'down' | 'http503'

export interface RelayRequestInfo {
  method: string
  path: string
  headers: IncomingMessage['headers']
  body: string
}

export interface RelayReply {
  status: number
  body: unknown
}

export type RelayHandler = (req: RelayRequestInfo) => Promise<RelayReply>

export interface RelayServer {
  readonly url: string
  /** Requests that reached the handler (not those refused or failed by health). */
  readonly handled: number
  /** Requests that arrived while the relay was unhealthy. */
  readonly failed: number
  setHealth(health: RelayHealth): Promise<void>
  /** Milliseconds every answer waits (0: none). */
  lagMillis: number
  close(): Promise<void>
}

export async function startRelayServer(handler: RelayHandler): Promise<RelayServer> {
  let health: RelayHealth = 'up'
  let handled = 0
  let failed = 0
  const pending = new Set<ServerResponse>()
  const state = { lagMillis: 0 }

  const serve = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    pending.add(res)
    res.once('close', () => pending.delete(res))
    if (state.lagMillis > 0) await new Promise((r) => setTimeout(r, state.lagMillis))
    if (res.destroyed) return
    if (health !== 'up') {
      failed++
      res.writeHead(503, { 'content-type': 'text/plain' }).end('service unavailable')
      return
    }
    handled++
    const reply = await handler({
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    })
    if (!res.destroyed)
      res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body))
  }

  const server: Server = createServer((req, res) => {
    serve(req, res).catch((err) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err))
    })
  })
  const listener = localListener(server)
  const listen = listener.listen
  const stop = () => {
    for (const r of pending) r.destroy()
    return listener.close()
  }

  const port = await listen(0)
  return {
    url: `http://127.0.0.1:${port}`,
    get handled() {
      return handled
    },
    get failed() {
      return failed
    },
    get lagMillis() {
      return state.lagMillis
    },
    set lagMillis(v: number) {
      state.lagMillis = v
    },
    async setHealth(next) {
      const prev = health
      health = next
      if (next === 'down' && prev !== 'down') await stop()
      if (prev === 'down' && next !== 'down') await listen(port)
    },
    close: stop,
  }
}

/** JSON-RPC request parsing and answers. */
export interface RpcCall {
  id: unknown
  method: string
  params: unknown
}

export function parseRpc(body: string): RpcCall | undefined {
  try {
    const v = JSON.parse(body) as { id?: unknown; method?: unknown; params?: unknown }
    if (typeof v.method !== 'string') return undefined
    return { id: v.id ?? null, method: v.method, params: v.params }
  } catch {
    return undefined
  }
}

export const rpcResult = (id: unknown, result: unknown): RelayReply => ({
  status: 200,
  body: { jsonrpc: '2.0', id, result },
})

export const rpcError = (id: unknown, code: number, message: string, status = 200): RelayReply => ({
  status,
  body: { jsonrpc: '2.0', id, error: { code, message } },
})

/** One JSON-RPC call to the node (anvil); returns its whole response object. */
export async function nodeCall(
  url: string,
  method: string,
  params: unknown[],
): Promise<{ result?: unknown; error?: { code: number; message: string } }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    signal: AbortSignal.timeout(10_000),
  })
  return (await res.json()) as { result?: unknown; error?: { code: number; message: string } }
}
