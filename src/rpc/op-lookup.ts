import { type Address, getAddress, type Hash, type Hex, type PublicClient, type RpcLog } from 'viem'
import { authorizationOfSender, fromWireAuthorization, isEip7702Op } from '../chain/eip7702.js'
import { entryPointFor } from '../chain/entrypoint/registry.js'
import type { UserOperation } from '../chain/userop.js'
import { RpcCode, RpcError } from '../util/errors.js'
import {
  type CallFrame,
  entryPointCallsInTrace,
  opLogs,
  revertReasonOf,
  USER_OPERATION_EVENT,
} from './bundle-decode.js'

/**
 * Finds user operations the pool no longer remembers, on chain: the UserOperationEvent by its
 * userOpHash topic, then the bundle transaction (calldata for the op, receipt for the logs).
 */

export interface MinedUserOperation {
  userOperation: UserOperation
  entryPoint: Address
  blockNumber: bigint
  blockHash: Hash
  transactionHash: Hash
}

export interface MinedUserOperationReceipt {
  userOpHash: Hash
  entryPoint: Address
  sender: Address
  nonce: bigint
  paymaster: Address
  actualGasCost: bigint
  actualGasUsed: bigint
  success: boolean
  /** Revert data of the op's execution, when the EntryPoint logged one. */
  reason?: Hex
  /** Wire-format logs of this op alone. */
  logs: RpcLog[]
  /** The bundle's transaction receipt as the node returned it. */
  receipt: unknown
}

export interface OpLookup {
  getUserOperation(hash: Hash): Promise<MinedUserOperation | null>
  getUserOperationReceipt(hash: Hash): Promise<MinedUserOperationReceipt | null>
}

export interface OpLookupOptions {
  client: PublicClient
  entryPoints: Address[]
  /** Search only this many blocks back from the head (providers cap eth_getLogs ranges). Default: all. */
  blockDistance?: bigint
}

interface WireReceipt {
  logs: RpcLog[]
}

export function createOpLookup(opts: OpLookupOptions): OpLookup {
  const { client, entryPoints } = opts
  // viem's request types only know the standard methods; these two are node extensions or raw forms.
  const rawRequest = client.request as unknown as (args: {
    method: string
    params: unknown[]
  }) => Promise<unknown>

  async function findEvent(hash: Hash) {
    let fromBlock: bigint | 'earliest' = 'earliest'
    if (opts.blockDistance !== undefined) {
      const head = await client.getBlockNumber({ cacheTime: 0 })
      fromBlock = head > opts.blockDistance ? head - opts.blockDistance : 0n
    }
    const logs = await client.getLogs({
      address: entryPoints,
      event: USER_OPERATION_EVENT,
      args: { userOpHash: hash },
      fromBlock,
      toBlock: 'latest',
    })
    // A reorg may leave a removed log, and the same hash cannot be mined twice: the last live one wins.
    const live = logs.filter((l) => !l.removed && l.blockHash !== null && l.transactionHash !== null)
    return live.at(-1)
  }

  /** A 7702 op read from calldata gets back its authorization from the type-4 bundle's list. */
  async function withAuthorization(op: UserOperation, txHash: Hash): Promise<UserOperation> {
    if (!isEip7702Op(op)) return op
    const tx = await client.getTransaction({ hash: txHash })
    const auth = await authorizationOfSender(op, (tx.authorizationList ?? []).map(fromWireAuthorization))
    return auth ? { ...op, eip7702Auth: auth } : op
  }

  /** Calldata of every EntryPoint call in the bundle transaction: direct, else from a call trace. */
  async function bundleCalls(txHash: Hash, entryPoint: Address): Promise<Hex[]> {
    const tx = await client.getTransaction({ hash: txHash })
    const direct = tx.to?.toLowerCase() === entryPoint.toLowerCase() ? [tx.input] : []
    if (direct.length > 0 && entryPointFor(entryPoint)?.decodeBundle(tx.input)) return direct
    try {
      const trace = (await rawRequest({
        method: 'debug_traceTransaction',
        params: [txHash, { tracer: 'callTracer' }],
      })) as CallFrame
      return entryPointCallsInTrace(trace, entryPoint)
    } catch {
      return direct // the node has no debug namespace
    }
  }

  return {
    async getUserOperation(hash) {
      const ev = await findEvent(hash)
      if (!ev) return null
      const entryPoint = getAddress(ev.address)
      const ep = entryPointFor(entryPoint)
      const { sender, nonce } = ev.args
      for (const data of ep ? await bundleCalls(ev.transactionHash, entryPoint) : []) {
        // (sender, nonce) is unique per chain once the EntryPoint accepted it
        const op = ep
          ?.decodeBundle(data)
          ?.find((o) => o.sender.toLowerCase() === sender?.toLowerCase() && o.nonce === nonce)
        if (op)
          return {
            userOperation: await withAuthorization(op, ev.transactionHash),
            entryPoint,
            blockNumber: ev.blockNumber,
            blockHash: ev.blockHash,
            transactionHash: ev.transactionHash,
          }
      }
      throw new RpcError(
        RpcCode.InternalError,
        `user operation ${hash} was mined in ${ev.transactionHash} but is not in its calldata`,
      )
    },

    async getUserOperationReceipt(hash) {
      const ev = await findEvent(hash)
      if (!ev) return null
      const entryPoint = getAddress(ev.address)
      const receipt = (await rawRequest({
        method: 'eth_getTransactionReceipt',
        params: [ev.transactionHash],
      })) as WireReceipt | null
      if (!receipt) return null // reorged out between the two calls
      const a = ev.args
      const out: MinedUserOperationReceipt = {
        userOpHash: hash,
        entryPoint,
        sender: getAddress(a.sender!),
        nonce: a.nonce!,
        paymaster: getAddress(a.paymaster!),
        actualGasCost: a.actualGasCost!,
        actualGasUsed: a.actualGasUsed!,
        success: a.success!,
        logs: opLogs(receipt.logs, hash, entryPoint),
        receipt,
      }
      if (!out.success) {
        const reason = revertReasonOf(receipt.logs, hash, entryPoint)
        if (reason !== undefined) out.reason = reason
      }
      return out
    },
  }
}
