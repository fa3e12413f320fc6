import { type Address, decodeAbiParameters, type Hash, type Hex, parseAbiItem, toEventSelector } from 'viem'

export { opsInCalldata } from '../chain/bundle-calldata.js'

/**
 * Pure decoding of what a mined bundle left behind: its handleOps calldata (to recover the op the
 * user sent) and its receipt logs (to cut out the logs of one op). Same ABI for v0.7 and v0.8.
 */

export const USER_OPERATION_EVENT = parseAbiItem(
  'event UserOperationEvent(bytes32 indexed userOpHash, address indexed sender, address indexed paymaster, uint256 nonce, bool success, uint256 actualGasCost, uint256 actualGasUsed)',
)
const USER_OPERATION_REVERT_REASON = parseAbiItem(
  'event UserOperationRevertReason(bytes32 indexed userOpHash, address indexed sender, uint256 nonce, bytes revertReason)',
)
const BEFORE_EXECUTION = parseAbiItem('event BeforeExecution()')

const TOPIC = {
  userOperationEvent: toEventSelector(USER_OPERATION_EVENT),
  revertReason: toEventSelector(USER_OPERATION_REVERT_REASON),
  beforeExecution: toEventSelector(BEFORE_EXECUTION),
}

/** A node of a callTracer trace: what we read of it. */
export interface CallFrame {
  to?: string
  input?: string
  calls?: CallFrame[]
}

/**
 * Calldata of every call into `entryPoint` inside a trace (a bundle sent through a contract, a
 * multisig or a batcher). Bounded: at most `maxFrames` frames are visited.
 */
export function entryPointCallsInTrace(root: CallFrame, entryPoint: Address, maxFrames = 10_000): Hex[] {
  const out: Hex[] = []
  const stack: CallFrame[] = [root]
  const ep = entryPoint.toLowerCase()
  for (let visited = 0; stack.length > 0 && visited < maxFrames; visited++) {
    const f = stack.pop()!
    if (typeof f.to === 'string' && f.to.toLowerCase() === ep && typeof f.input === 'string')
      out.push(f.input as Hex)
    if (Array.isArray(f.calls)) for (let i = f.calls.length - 1; i >= 0; i--) stack.push(f.calls[i]!)
  }
  return out
}

/** The part of a log these helpers read; wire-format (hex) logs from eth_getTransactionReceipt. */
export interface WireLog {
  address: string
  topics: string[]
  data: string
}

function isFrom(log: WireLog, entryPoint: Address): boolean {
  return log.address.toLowerCase() === entryPoint.toLowerCase()
}

/** Index of the op's UserOperationEvent in the receipt logs, or -1. */
export function userOpEventIndex(logs: WireLog[], hash: Hash, entryPoint: Address): number {
  const h = hash.toLowerCase()
  return logs.findIndex(
    (l) =>
      isFrom(l, entryPoint) && l.topics[0] === TOPIC.userOperationEvent && l.topics[1]?.toLowerCase() === h,
  )
}

/**
 * The logs this op emitted during execution: after the previous op's UserOperationEvent (or the
 * EntryPoint's BeforeExecution for the first op) and before its own event. Validation-phase logs of
 * the whole bundle precede BeforeExecution and belong to no single op's receipt.
 */
export function opLogs<L extends WireLog>(logs: L[], hash: Hash, entryPoint: Address): L[] {
  const end = userOpEventIndex(logs, hash, entryPoint)
  if (end < 0) return []
  let start = -1
  for (let i = 0; i < end; i++) {
    const l = logs[i]!
    if (!isFrom(l, entryPoint)) continue
    if (l.topics[0] === TOPIC.userOperationEvent || l.topics[0] === TOPIC.beforeExecution) start = i
  }
  return logs.slice(start + 1, end)
}

/** The revert data the EntryPoint logged for a failed op's execution, if any. */
export function revertReasonOf(logs: WireLog[], hash: Hash, entryPoint: Address): Hex | undefined {
  const h = hash.toLowerCase()
  const log = logs.find(
    (l) => isFrom(l, entryPoint) && l.topics[0] === TOPIC.revertReason && l.topics[1]?.toLowerCase() === h,
  )
  if (!log) return undefined
  try {
    const [, reason] = decodeAbiParameters([{ type: 'uint256' }, { type: 'bytes' }], log.data as Hex)
    return reason
  } catch {
    return undefined
  }
}
