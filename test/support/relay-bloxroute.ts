import { type Hex, keccak256 } from 'viem'
import {
  nodeCall,
  parseRpc,
  type RelayServer,
  rpcError,
  rpcResult,
  startRelayServer,
} from './relay-server.js'

/**
 * A local bloXroute cloud API for Polygon private transactions: JSON-RPC `polygon_private_tx` with
 * params `{transaction: <raw hex without 0x>}` and the account's `Authorization` header; answers
 * `{txHash}` and forwards the transaction into anvil so it is mined.
 */
export interface BloxrouteRelay {
  readonly url: string
  readonly server: RelayServer
  /** Transactions accepted, as received (without 0x). */
  readonly accepted: string[]
  /** Requests refused for their Authorization header. */
  readonly unauthorized: number
  close(): Promise<void>
}

export async function startBloxrouteRelay(nodeUrl: string, authHeader: string): Promise<BloxrouteRelay> {
  const accepted: string[] = []
  let unauthorized = 0
  const server = await startRelayServer(async (req) => {
    const call = parseRpc(req.body)
    if (req.method !== 'POST' || !call) return rpcError(null, -32700, 'parse error', 400)
    if (req.headers.authorization !== authHeader) {
      unauthorized++
      return rpcError(call.id, -32600, 'account is not authorized: invalid Authorization header')
    }
    if (call.method !== 'polygon_private_tx')
      return rpcError(call.id, -32601, `method ${call.method} not found`)
    const tx = (call.params as { transaction?: unknown } | undefined)?.transaction
    // The wire format: hex without the 0x prefix.
    if (typeof tx !== 'string' || tx.startsWith('0x') || !/^[0-9a-fA-F]+$/.test(tx)) {
      return rpcError(call.id, -32602, 'invalid transaction: expected raw hex without 0x')
    }
    const raw = `0x${tx}` as Hex
    const res = await nodeCall(nodeUrl, 'eth_sendRawTransaction', [raw])
    if (res.error) return rpcError(call.id, res.error.code, res.error.message)
    accepted.push(tx)
    return rpcResult(call.id, { txHash: keccak256(raw).slice(2) })
  })
  return {
    url: server.url,
    server,
    accepted,
    get unauthorized() {
      return unauthorized
    },
    close: () => server.close(),
  }
}
