import {
  type Address,
  getAddress,
  type Hash,
  type Hex,
  type Log,
  parseAbi,
  parseEventLogs,
  type TransactionReceipt,
} from 'viem'
import { entryPointFor } from '../chain/entrypoint/registry.js'
import type { UserOperation } from '../chain/userop.js'
import type { MinedOpInfo } from './types.js'

/** The EntryPoint events the tracker reads; identical in v0.6 to v0.9. */
export const ENTRY_POINT_EVENTS = parseAbi([
  'event UserOperationEvent(bytes32 indexed userOpHash, address indexed sender, address indexed paymaster, uint256 nonce, bool success, uint256 actualGasCost, uint256 actualGasUsed)',
  'event BeforeExecution()',
])
export const USER_OPERATION_EVENT = ENTRY_POINT_EVENTS[0]

/** A mined op as read from the chain; `op` is missing when the bundle's calldata could not be decoded. */
export type MinedOpEvent = Omit<MinedOpInfo, 'op'> & { op?: UserOperation }

const opKey = (sender: string, nonce: bigint) => `${sender.toLowerCase()}:${nonce}`

/**
 * The ops a bundle transaction mined, from its receipt: one per UserOperationEvent of a known
 * EntryPoint, each with the logs emitted between the previous op's event (or BeforeExecution) and
 * its own, as eth_getUserOperationReceipt reports them. The ops themselves come from decoding the
 * transaction's handleOps / handleAggregatedOps calldata when it calls the EntryPoint directly.
 */
export function minedOpsFromReceipt(
  receipt: TransactionReceipt,
  txInput: Hex | undefined,
  entryPoints: readonly Address[],
): MinedOpEvent[] {
  const eps = new Set(entryPoints.map((a) => a.toLowerCase()))
  const logs = receipt.logs as Log[]
  const events = parseEventLogs({
    abi: ENTRY_POINT_EVENTS,
    logs: logs.filter((l) => eps.has(l.address.toLowerCase())),
  })
  const decoded = decodeOps(receipt.to ?? undefined, txInput)
  const out: MinedOpEvent[] = []
  // Per EntryPoint, the log index after which the next op's own logs start.
  const startAfter = new Map<string, number>()
  for (const ev of events) {
    const ep = ev.address.toLowerCase()
    const idx = logs.findIndex((l) => l.logIndex === ev.logIndex)
    if (ev.eventName === 'BeforeExecution') {
      startAfter.set(ep, idx)
      continue
    }
    const from = (startAfter.get(ep) ?? -1) + 1
    startAfter.set(ep, idx)
    const a = ev.args
    out.push({
      hash: a.userOpHash as Hash,
      entryPoint: getAddress(ev.address),
      op: ep === receipt.to?.toLowerCase() ? decoded.get(opKey(a.sender, a.nonce)) : undefined,
      blockNumber: receipt.blockNumber,
      blockHash: receipt.blockHash,
      transactionHash: receipt.transactionHash,
      success: a.success,
      actualGasCost: a.actualGasCost,
      actualGasUsed: a.actualGasUsed,
      paymaster: getAddress(a.paymaster),
      nonce: a.nonce,
      sender: getAddress(a.sender),
      logs: logs.slice(from, idx),
      receipt,
    })
  }
  return out
}

function decodeOps(to: Address | undefined, input: Hex | undefined): Map<string, UserOperation> {
  const ops = new Map<string, UserOperation>()
  const ep = to ? entryPointFor(to) : undefined
  // Not a direct call to an EntryPoint we can decode: the ops stay unknown, their events still count.
  if (!ep || !input) return ops
  for (const op of ep.decodeBundle(input) ?? []) ops.set(opKey(op.sender, op.nonce), op)
  return ops
}
