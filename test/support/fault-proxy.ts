import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { localListener } from './local-server.js'

/**
 * A JSON-RPC HTTP proxy on 127.0.0.1 that forwards to a real node and can be told to misbehave,
 * for testing how clients survive a flaky RPC endpoint.
 * - pass:    forward the request, return the node's answer (502 if the node cannot be reached)
 * - refuse:  stop listening, so connections are refused (existing sockets are destroyed)
 * - http500: answer 500 with an HTML-ish body
 * - garbage: answer 200 with a body that is not JSON
 * - hang:    accept the request and never answer (until the mode changes, then drop it)
 * - reset:   destroy the connection without answering
 */
export type FaultMode = 'pass' | 'refuse' | 'http500' | 'garbage' | 'hang' | 'reset'

export interface FaultProxy {
  readonly url: string
  readonly port: number
  readonly mode: FaultMode
  /** Requests that arrived, by the mode in force when they arrived. */
  readonly counts: Readonly<Record<FaultMode, number>>
  setMode(mode: FaultMode): Promise<void>
  setUpstream(url: string): void
  close(): Promise<void>
}

export async function startFaultProxy(upstream: string, opts: { port?: number } = {}): Promise<FaultProxy> {
  let target = upstream
  let mode: FaultMode = 'pass'
  const counts: Record<FaultMode, number> = { pass: 0, refuse: 0, http500: 0, garbage: 0, hang: 0, reset: 0 }
  const hanging = new Set<ServerResponse>()

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const current = mode
    counts[current]++
    switch (current) {
      case 'refuse':
      case 'reset':
        req.socket.destroy()
        return
      case 'http500':
        res.writeHead(500, { 'content-type': 'text/html' }).end('<html>internal server error</html>')
        return
      case 'garbage':
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","id":1,"resu')
        return
      case 'hang':
        hanging.add(res)
        res.once('close', () => hanging.delete(res))
        return
      case 'pass': {
        try {
          const upstreamRes = await fetch(target, {
            method: 'POST',
            headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
            body: Buffer.concat(chunks),
            signal: AbortSignal.timeout(10_000),
          })
          const body = Buffer.from(await upstreamRes.arrayBuffer())
          res.writeHead(upstreamRes.status, { 'content-type': 'application/json' }).end(body)
        } catch {
          if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end('bad gateway')
        }
        return
      }
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => req.socket.destroy())
  })
  const { listen, close: stopListening } = localListener(server)

  const port = await listen(opts.port ?? 0)
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get mode() {
      return mode
    },
    counts,
    async setMode(next) {
      if (next === mode) return
      const prev = mode
      mode = next
      if (prev === 'hang') for (const r of hanging) r.destroy()
      if (next === 'refuse') await stopListening()
      else if (prev === 'refuse') await listen(port)
    },
    setUpstream(url) {
      target = url
    },
    async close() {
      for (const r of hanging) r.destroy()
      await stopListening()
    },
  }
}
