import {
  type Address,
  type Hash,
  type Hex,
  isAddressEqual,
  keccak256,
  parseTransaction,
  recoverMessageAddress,
  recoverTransactionAddress,
  toBytes,
} from 'viem'
import {
  nodeCall,
  parseRpc,
  type RelayReply,
  type RelayRequestInfo,
  type RelayServer,
  rpcError,
  rpcResult,
  startRelayServer,
} from './relay-server.js'

/**
 * A local Flashbots Protect relay speaking the real protocol: JSON-RPC eth_sendPrivateTransaction /
 * eth_cancelPrivateTransaction, each request authenticated by `X-Flashbots-Signature:
 * <address>:<sig>` (recovered and checked against the body), and the status API GET /tx/<hash>.
 * Accepted transactions are forwarded into anvil, so they are really mined, unless `hold` keeps
 * them private (a tx no builder has included yet), which is what a cancellation can still stop.
 * Like a node's mempool, the relay replaces a pending private transaction of the same sender and
 * nonce only when both fee fields rise by 10% ("replacement transaction underpriced" otherwise).
 */
export type FlashbotsStatus = 'PENDING' | 'INCLUDED' | 'FAILED' | 'CANCELLED' | 'UNKNOWN'

interface PrivateTx {
  raw: Hex
  forwarded: boolean
  status?: 'FAILED' | 'CANCELLED'
  from: Address
  nonce: number
  maxFeePerGas: bigint
  maxPriorityFeePerGas: bigint
}

export interface FlashbotsRelay {
  readonly url: string
  readonly server: RelayServer
  /** Reputation addresses the relay accepts (a relay gated by reputation); empty: any valid signature. */
  allowedSigners: Address[]
  /** Keep new transactions private instead of forwarding them to the chain. */
  hold: boolean
  /** Answer eth_cancelPrivateTransaction with an error. */
  rejectCancellation: boolean
  /** Every authenticated call: method and the address its signature recovered to. */
  readonly calls: { method: string; signer: Address }[]
  /** The status API reports FAILED (and the tx is taken out of the chain's mempool). */
  fail(hash: Hash): Promise<void>
  /** Forward a held transaction to the chain. */
  release(hash: Hash): Promise<void>
  status(hash: Hash): Promise<FlashbotsStatus>
  close(): Promise<void>
}

export async function startFlashbotsRelay(nodeUrl: string): Promise<FlashbotsRelay> {
  const txs = new Map<Hash, PrivateTx>()
  const calls: { method: string; signer: Address }[] = []
  const relay = {
    allowedSigners: [] as Address[],
    hold: false,
    rejectCancellation: false,
  }

  const forward = async (tx: PrivateTx) => {
    const res = await nodeCall(nodeUrl, 'eth_sendRawTransaction', [tx.raw])
    if (res.error) return res.error
    tx.forwarded = true
    return undefined
  }

  const statusOf = async (hash: Hash): Promise<FlashbotsStatus> => {
    const tx = txs.get(hash)
    if (!tx) return 'UNKNOWN'
    if (tx.status) return tx.status
    if (!tx.forwarded) return 'PENDING'
    const receipt = await nodeCall(nodeUrl, 'eth_getTransactionReceipt', [hash])
    return receipt.result ? 'INCLUDED' : 'PENDING'
  }

  /** A private transaction still pending at the relay from the same sender and nonce. */
  const heldAtNonce = async (tx: PrivateTx): Promise<[Hash, PrivateTx] | undefined> => {
    for (const [hash, other] of txs) {
      if (other.nonce !== tx.nonce || !isAddressEqual(other.from, tx.from)) continue
      if ((await statusOf(hash)) === 'PENDING') return [hash, other]
    }
    return undefined
  }
  const outbids = (next: PrivateTx, prev: PrivateTx) =>
    next.maxFeePerGas * 100n >= prev.maxFeePerGas * 110n &&
    next.maxPriorityFeePerGas * 100n >= prev.maxPriorityFeePerGas * 110n

  const takeOut = async (hash: Hash, tx: PrivateTx) => {
    if (tx.forwarded) await nodeCall(nodeUrl, 'anvil_dropTransaction', [hash])
  }

  const rpc = async (req: RelayRequestInfo): Promise<RelayReply> => {
    const header = req.headers['x-flashbots-signature']
    if (typeof header !== 'string')
      return { status: 400, body: { error: 'missing X-Flashbots-Signature header' } }
    const [claimed, signature] = header.split(':')
    let signer: Address | undefined
    try {
      signer = await recoverMessageAddress({
        message: keccak256(toBytes(req.body)),
        signature: signature as Hex,
      })
    } catch {}
    // The relay's own check: the signature over this exact body recovers to the address claimed.
    if (!signer || !claimed || !isAddressEqual(signer, claimed as Address)) {
      return { status: 403, body: { error: `error in signature check ${claimed}` } }
    }
    if (relay.allowedSigners.length > 0 && !relay.allowedSigners.some((a) => isAddressEqual(a, signer))) {
      return { status: 403, body: { error: `error in signature check ${signer}` } }
    }
    const call = parseRpc(req.body)
    if (!call) return rpcError(null, -32700, 'parse error', 400)
    calls.push({ method: call.method, signer })
    const param = (Array.isArray(call.params) ? call.params[0] : undefined) as
      | Record<string, unknown>
      | undefined

    switch (call.method) {
      case 'eth_sendPrivateTransaction': {
        const raw = param?.tx
        if (typeof raw !== 'string' || !raw.startsWith('0x')) return rpcError(call.id, -32602, 'invalid tx')
        const hash = keccak256(raw as Hex)
        if (txs.has(hash)) return rpcError(call.id, -32000, 'already known')
        const parsed = parseTransaction(raw as Hex)
        const tx: PrivateTx = {
          raw: raw as Hex,
          forwarded: false,
          from: await recoverTransactionAddress({ serializedTransaction: raw as never }),
          nonce: parsed.nonce ?? 0,
          maxFeePerGas: parsed.maxFeePerGas ?? 0n,
          maxPriorityFeePerGas: parsed.maxPriorityFeePerGas ?? 0n,
        }
        const replaced = await heldAtNonce(tx)
        if (replaced && !outbids(tx, replaced[1]))
          return rpcError(call.id, -32000, 'replacement transaction underpriced')
        if (!relay.hold) {
          const err = await forward(tx)
          // The relay simulates against the chain and passes the node's verdict back.
          if (err) return rpcError(call.id, err.code, err.message)
        }
        if (replaced) replaced[1].status = 'FAILED'
        txs.set(hash, tx)
        return rpcResult(call.id, hash)
      }
      case 'eth_cancelPrivateTransaction': {
        const hash = param?.txHash as Hash | undefined
        const tx = hash ? txs.get(hash) : undefined
        if (!hash || !tx) return rpcError(call.id, -32000, 'transaction not found')
        if (relay.rejectCancellation) return rpcError(call.id, -32000, 'cancellation rejected')
        const now = await statusOf(hash)
        if (now !== 'PENDING') return rpcError(call.id, -32000, `cannot cancel a transaction that is ${now}`)
        await takeOut(hash, tx)
        tx.status = 'CANCELLED'
        return rpcResult(call.id, true)
      }
      default:
        return rpcError(call.id, -32601, `the method ${call.method} does not exist/is not available`)
    }
  }

  const server = await startRelayServer(async (req) => {
    if (req.method === 'GET') {
      const m = /^\/tx\/(0x[0-9a-fA-F]{64})$/.exec(req.path)
      if (!m) return { status: 404, body: { error: 'not found' } }
      const hash = (m[1] as string).toLowerCase() as Hash
      const tx = txs.get(hash)
      return {
        status: 200,
        body: { status: await statusOf(hash), hash, ...(tx ? { transaction: { raw: tx.raw } } : {}) },
      }
    }
    return rpc(req)
  })

  return Object.assign(relay, {
    url: server.url,
    server,
    calls,
    async fail(hash: Hash) {
      const tx = txs.get(hash)
      if (!tx) throw new Error(`relay does not know ${hash}`)
      await takeOut(hash, tx)
      tx.status = 'FAILED' as const
    },
    async release(hash: Hash) {
      const tx = txs.get(hash)
      if (!tx) throw new Error(`relay does not know ${hash}`)
      const err = await forward(tx)
      if (err) throw new Error(`node refused the released tx: ${err.message}`)
    },
    status: statusOf,
    close: () => server.close(),
  })
}
