import { type Hex, pad } from 'viem'
import { nodeCall, parseRpc, type RelayServer, rpcError, startRelayServer } from './relay-server.js'

/**
 * A node front that implements eth_sendRawTransactionConditional over anvil (which lacks it): each
 * `knownAccounts` slot is compared with anvil's eth_getStorageAt (a storage root with eth_getProof's
 * storageHash); all equal → the tx goes to anvil, else the error a conditional endpoint answers.
 * Every other method is passed to anvil. `supportsConditional: false` answers it as unknown.
 */
export interface ConditionalEndpoint {
  readonly url: string
  readonly server: RelayServer
  supportsConditional: boolean
  /** Code of the "condition not met" answer (-32003; some endpoints use -32005). */
  conditionErrorCode: number
  readonly conditionalCalls: { knownAccounts: Record<string, unknown>; met: boolean }[]
  close(): Promise<void>
}

export async function startConditionalEndpoint(nodeUrl: string): Promise<ConditionalEndpoint> {
  const conditionalCalls: { knownAccounts: Record<string, unknown>; met: boolean }[] = []
  const ep = { supportsConditional: true, conditionErrorCode: -32003 }

  const unmet = async (knownAccounts: Record<string, unknown>): Promise<string | undefined> => {
    for (const [account, expected] of Object.entries(knownAccounts)) {
      if (typeof expected === 'string') {
        const proof = await nodeCall(nodeUrl, 'eth_getProof', [account, [], 'latest'])
        const root = (proof.result as { storageHash?: string } | undefined)?.storageHash
        if (root?.toLowerCase() !== expected.toLowerCase()) return `storage root of ${account} changed`
        continue
      }
      for (const [slot, value] of Object.entries(expected as Record<string, string>)) {
        const now = await nodeCall(nodeUrl, 'eth_getStorageAt', [account, slot, 'latest'])
        if (pad(now.result as Hex, { size: 32 }) !== pad(value.toLowerCase() as Hex, { size: 32 })) {
          return `storage slot ${slot} of ${account} changed`
        }
      }
    }
    return undefined
  }

  const server = await startRelayServer(async (req) => {
    const call = parseRpc(req.body)
    if (!call) return rpcError(null, -32700, 'parse error', 400)
    const params = Array.isArray(call.params) ? call.params : []
    if (call.method === 'eth_sendRawTransactionConditional') {
      if (!ep.supportsConditional) {
        return rpcError(
          call.id,
          -32601,
          'the method eth_sendRawTransactionConditional does not exist/is not available',
        )
      }
      const [raw, options] = params as [string, { knownAccounts?: Record<string, unknown> } | undefined]
      if (typeof raw !== 'string' || raw.length < 4)
        return rpcError(call.id, -32602, 'invalid transaction bytes')
      const knownAccounts = options?.knownAccounts ?? {}
      const why = await unmet(knownAccounts)
      conditionalCalls.push({ knownAccounts, met: !why })
      if (why) return rpcError(call.id, ep.conditionErrorCode, `condition not met: ${why}`)
      const res = await nodeCall(nodeUrl, 'eth_sendRawTransaction', [raw])
      return { status: 200, body: { jsonrpc: '2.0', id: call.id, ...res } }
    }
    const res = await nodeCall(nodeUrl, call.method, params)
    return { status: 200, body: { jsonrpc: '2.0', id: call.id, ...res } }
  })

  return Object.assign(ep, { url: server.url, server, conditionalCalls, close: () => server.close() })
}
