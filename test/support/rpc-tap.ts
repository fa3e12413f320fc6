import { createPublicClient, http, type PublicClient } from 'viem'
import {
  nodeCall,
  parseRpc,
  type RelayReply,
  type RpcCall,
  rpcResult,
  startRelayServer,
} from './relay-server.js'

/**
 * A JSON-RPC proxy in front of a real node (anvil) that lets a test see every call and change the
 * node's answers on the wire: `intercept` may answer a call itself (a node failure, say) before it
 * is forwarded; `rewrite` may replace the node's answer (a node that lags, say). Calls the hooks
 * leave alone are forwarded unchanged.
 */
export interface RpcTap {
  readonly url: string
  /** A viem client on the tap (no retries: every call the code makes reaches the tap once). */
  readonly client: PublicClient
  /** Every call that reached the tap, in order. */
  readonly calls: RpcCall[]
  intercept?: (call: RpcCall) => RelayReply | undefined
  rewrite?: (call: RpcCall, result: unknown) => unknown | Promise<unknown>
  close(): Promise<void>
}

export async function startRpcTap(upstream: string): Promise<RpcTap> {
  const calls: RpcCall[] = []
  const tap: Omit<RpcTap, 'url' | 'client' | 'close'> = { calls }
  const server = await startRelayServer(async (req) => {
    const call = parseRpc(req.body)
    if (!call) return { status: 400, body: { error: 'not a single JSON-RPC call' } }
    calls.push(call)
    const own = tap.intercept?.(call)
    if (own) return own
    const res = await fetch(upstream, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: req.body,
      signal: AbortSignal.timeout(15_000),
    })
    const body = (await res.json()) as { result?: unknown; error?: unknown }
    if (tap.rewrite && body.error === undefined)
      return rpcResult(call.id, await tap.rewrite(call, body.result))
    return { status: res.status, body }
  })
  const client = createPublicClient({ transport: http(server.url, { retryCount: 0 }), pollingInterval: 50 })
  return Object.assign(tap, {
    url: server.url,
    client: client as PublicClient,
    close: () => server.close(),
  })
}

/** The 4-byte selector of an eth_call's data (undefined for other calls). */
export function callSelector(call: RpcCall): string | undefined {
  if (call.method !== 'eth_call' || !Array.isArray(call.params)) return undefined
  const tx = call.params[0] as { data?: string; input?: string } | undefined
  return (tx?.data ?? tx?.input)?.slice(0, 10).toLowerCase()
}

/**
 * Makes `tap` a status node that has not seen the pending transactions of the endpoint they were
 * sent to (a node behind a private relay or a separate submit endpoint): a pending transaction is
 * unknown to it, its pending nonce is the latest, its txpool is empty; mined ones it knows.
 */
export function lagPendingTransactions(tap: RpcTap, upstream: string): void {
  tap.rewrite = async (call, result) => {
    const params = Array.isArray(call.params) ? call.params : []
    switch (call.method) {
      case 'eth_getTransactionByHash': {
        const tx = result as { blockNumber?: string | null } | null
        return tx?.blockNumber ? tx : null
      }
      case 'eth_getTransactionCount':
        if (params[1] !== 'pending') return result
        return (await nodeCall(upstream, 'eth_getTransactionCount', [params[0], 'latest'])).result
      case 'txpool_content':
        return { pending: {}, queued: {} }
      default:
        return result
    }
  }
}
