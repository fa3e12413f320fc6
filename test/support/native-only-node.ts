import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** The tracers a hosted node provider typically allows: the node's built-in (native) ones. */
export const NATIVE_TRACERS = ['callTracer', 'prestateTracer', '4byteTracer', 'noopTracer', 'flatCallTracer']

const TRACE_METHODS = new Set([
  'debug_traceCall',
  'debug_traceTransaction',
  'debug_traceBlockByNumber',
  'debug_traceBlockByHash',
])

/** A JSON-RPC proxy in front of a real node that refuses custom JS tracers, as hosted providers do. */
export interface NativeOnlyNode {
  url: string
  /** Trace requests refused because they asked for a JS tracer. */
  refused: number
  /** Trace requests forwarded (native tracers or the struct logger). */
  forwarded: number
  stop(): Promise<void>
}

interface RpcRequest {
  id?: unknown
  method?: string
  params?: unknown[]
}

/**
 * Forwards every JSON-RPC request (single or batch) to `upstream` unchanged, except a debug_trace*
 * whose tracer is not one of NATIVE_TRACERS (a JavaScript tracer): that one gets the error a hosted
 * provider answers with, and never reaches the node.
 */
export interface NativeOnlyOptions {
  /** Tracers refused besides JS ones (a node without `prestateTracer`, say). */
  refuse?: string[]
  /** Forward JS tracers too (then only `refuse` is refused). */
  allowJs?: boolean
  /** Rewrites a forwarded trace's result (a node whose pre-state is wrong). */
  tamper?: (tracer: string | undefined, result: unknown) => unknown
}

export async function startNativeOnlyNode(
  upstream: string,
  opts: NativeOnlyOptions = {},
): Promise<NativeOnlyNode> {
  const node: NativeOnlyNode = { url: '', refused: 0, forwarded: 0, stop: async () => {} }
  const server: Server = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => {
      body += c
    })
    req.on('end', async () => {
      try {
        const parsed = JSON.parse(body) as RpcRequest | RpcRequest[]
        const batch = Array.isArray(parsed) ? parsed : [parsed]
        const answers = await Promise.all(batch.map((r) => answer(r)))
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify(Array.isArray(parsed) ? answers : answers[0]))
      } catch (err) {
        res.statusCode = 502
        res.end(String(err))
      }
    })
  })

  async function answer(r: RpcRequest): Promise<unknown> {
    if (r.method && TRACE_METHODS.has(r.method)) {
      const config = (r.params?.[2] ?? r.params?.[1]) as { tracer?: unknown } | undefined
      const tracer = typeof config === 'object' && config !== null ? config.tracer : undefined
      const refused =
        typeof tracer === 'string' &&
        ((!opts.allowJs && !NATIVE_TRACERS.includes(tracer)) || opts.refuse?.includes(tracer))
      if (refused) {
        node.refused++
        return {
          jsonrpc: '2.0',
          id: r.id,
          error: {
            code: -32602,
            message: `tracer not allowed: custom JavaScript tracers are disabled on this endpoint (allowed: ${allowed(opts).join(', ')})`,
          },
        }
      }
      node.forwarded++
      if (opts.tamper) {
        const answer = (await forward(r)) as { result?: unknown }
        if (answer.result !== undefined)
          answer.result = opts.tamper(tracer as string | undefined, answer.result)
        return answer
      }
    }
    return forward(r)
  }

  async function forward(r: RpcRequest): Promise<unknown> {
    const upstreamRes = await fetch(upstream, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(r),
    })
    return upstreamRes.json()
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  node.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  node.stop = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return node
}

function allowed(opts: NativeOnlyOptions): string[] {
  return NATIVE_TRACERS.filter((t) => !opts.refuse?.includes(t))
}
