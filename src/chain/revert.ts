import {
  type Abi,
  type AbiFunction,
  type Address,
  decodeAbiParameters,
  decodeErrorResult,
  getAddress,
  type Hex,
  isHex,
  size,
  slice,
  toFunctionSelector,
} from 'viem'
import { RpcCode } from '../util/errors.js'
import { loadArtifact } from './artifacts.js'

/** What a revert said, decoded as far as Conveyor knows the contracts. */
export type DecodedRevert =
  | { kind: 'FailedOp'; opIndex: bigint; reason: string }
  | { kind: 'FailedOpWithRevert'; opIndex: bigint; reason: string; inner: Hex; innerDecoded: DecodedRevert }
  | { kind: 'SignatureValidationFailed'; aggregator: Address }
  | { kind: 'Error'; message: string }
  | { kind: 'Panic'; code: bigint; description: string }
  | { kind: 'CustomError'; name: string; selector: Hex; args: readonly unknown[]; data: Hex }
  /** A revert that carried no data at all (`revert()`, a failed require without message, out of gas). */
  | { kind: 'Empty' }
  /** Data that matches no known error, or a known selector whose arguments do not decode. */
  | { kind: 'Raw'; selector?: Hex; data: Hex }

// Selectors from canonical signatures (toFunctionSelector treats a leading 'error' as part of the name).
const FAILED_OP = toFunctionSelector('FailedOp(uint256,string)')
const FAILED_OP_WITH_REVERT = toFunctionSelector('FailedOpWithRevert(uint256,string,bytes)')
const SIGNATURE_VALIDATION_FAILED = toFunctionSelector('SignatureValidationFailed(address)')
const ERROR_STRING = toFunctionSelector('Error(string)')
const PANIC = toFunctionSelector('Panic(uint256)')

/** Solidity's panic codes (the language documentation's table). */
const PANIC_DESCRIPTIONS: Record<string, string> = {
  '0': 'generic compiler panic',
  '1': 'assertion failed',
  '17': 'arithmetic overflow or underflow',
  '18': 'division or modulo by zero',
  '33': 'invalid enum value',
  '34': 'invalid storage byte array encoding',
  '49': 'pop on an empty array',
  '50': 'array index out of bounds',
  '65': 'too much memory allocated',
  '81': 'call to an uninitialized internal function',
}

/** Inner reverts nest (FailedOpWithRevert of a PostOpReverted of …); real ones are shallow. */
const MAX_INNER_DEPTH = 4
/** Error objects nest through `cause`, `error`, `info`; real chains are a handful deep. */
const MAX_ERROR_DEPTH = 12

/** Every custom error the EntryPoints and the sample contracts around them declare. */
const ARTIFACTS_WITH_ERRORS: Record<string, string[]> = {
  'aa-v06': ['EntryPoint', 'SimpleAccount', 'VerifyingPaymaster', 'TokenPaymaster'],
  'aa-v07': ['EntryPoint', 'EntryPointSimulations', 'SimpleAccount', 'VerifyingPaymaster', 'TokenPaymaster'],
  'aa-v08': ['EntryPoint', 'EntryPointSimulations', 'SimpleAccount', 'Simple7702Account', 'SenderCreator'],
  'aa-v09': ['EntryPoint', 'EntryPointSimulations', 'SimpleAccount', 'Simple7702Account', 'SenderCreator'],
}

let knownErrors: Abi | undefined
function knownErrorAbi(): Abi {
  if (knownErrors) return knownErrors
  const bySelector = new Map<Hex, Abi[number]>()
  for (const [pkg, names] of Object.entries(ARTIFACTS_WITH_ERRORS)) {
    for (const name of names) {
      for (const item of loadArtifact(pkg, name).abi) {
        if (item.type !== 'error') continue
        // An error's selector is computed exactly like a function's, from its signature.
        const selector = toFunctionSelector(item as unknown as AbiFunction)
        if (!bySelector.has(selector)) bySelector.set(selector, item)
      }
    }
  }
  knownErrors = [...bySelector.values()]
  return knownErrors
}

/** Decodes revert data: the EntryPoint's errors first, then Error/Panic, then any known custom error. */
export function decodeRevert(data: Hex): DecodedRevert {
  return decodeAtDepth(data, 0)
}

function decodeAtDepth(data: Hex, depth: number): DecodedRevert {
  if (!isHex(data) || size(data) === 0) return { kind: 'Empty' }
  if (size(data) < 4) return { kind: 'Raw', data }
  const selector = slice(data, 0, 4)
  const params = slice(data, 4)
  try {
    switch (selector) {
      case FAILED_OP: {
        const [opIndex, reason] = decodeAbiParameters([{ type: 'uint256' }, { type: 'string' }], params)
        return { kind: 'FailedOp', opIndex, reason }
      }
      case FAILED_OP_WITH_REVERT: {
        const [opIndex, reason, inner] = decodeAbiParameters(
          [{ type: 'uint256' }, { type: 'string' }, { type: 'bytes' }],
          params,
        )
        const innerDecoded: DecodedRevert =
          depth < MAX_INNER_DEPTH ? decodeAtDepth(inner, depth + 1) : { kind: 'Raw', data: inner }
        return { kind: 'FailedOpWithRevert', opIndex, reason, inner, innerDecoded }
      }
      case SIGNATURE_VALIDATION_FAILED: {
        const [aggregator] = decodeAbiParameters([{ type: 'address' }], params)
        return { kind: 'SignatureValidationFailed', aggregator: getAddress(aggregator) }
      }
      case ERROR_STRING: {
        const [message] = decodeAbiParameters([{ type: 'string' }], params)
        return { kind: 'Error', message }
      }
      case PANIC: {
        const [code] = decodeAbiParameters([{ type: 'uint256' }], params)
        return {
          kind: 'Panic',
          code,
          description: PANIC_DESCRIPTIONS[code.toString()] ?? 'unknown panic code',
        }
      }
    }
    const decoded = decodeErrorResult({ abi: knownErrorAbi(), data })
    return { kind: 'CustomError', name: decoded.errorName, selector, args: decoded.args ?? [], data }
  } catch {
    // Unknown selector or arguments that do not decode: keep the bytes for the caller.
    return { kind: 'Raw', selector, data }
  }
}

/**
 * The revert data carried by whatever a failed call threw: viem errors (through their `cause`
 * chain), raw JSON-RPC error objects or responses (anvil, geth, reth: `error.data`; hardhat and
 * some proxies: `error.data.data`; Nethermind: "Reverted 0x…"), or a hex string. Returns '0x' for a
 * revert that carried no data, and undefined when the error holds no revert at all.
 */
export function extractRevertData(err: unknown): Hex | undefined {
  let empty = false
  const seen = new Set<unknown>()
  const queue: { value: unknown; depth: number }[] = [{ value: err, depth: 0 }]
  while (queue.length > 0) {
    const { value, depth } = queue.shift()!
    if (value === null || value === undefined || seen.has(value) || depth > MAX_ERROR_DEPTH) continue
    seen.add(value)
    const hex = hexIn(value)
    if (hex !== undefined) {
      if (size(hex) > 0) return hex
      empty = true
      continue
    }
    if (typeof value !== 'object') continue
    const o = value as Record<string, unknown>
    // viem's ContractFunctionRevertedError keeps the bytes in `raw` and a decoded object in `data`.
    for (const key of ['raw', 'data', 'error', 'cause', 'info', 'body']) {
      if (key in o) queue.push({ value: parseJsonBody(key, o[key]), depth: depth + 1 })
    }
    if (!empty && isRevertWithoutData(o)) empty = true
  }
  return empty ? '0x' : undefined
}

/**
 * Whether a failed call's error is the EVM halting exceptionally (out of gas, an invalid opcode, a
 * returndatacopy out of bounds, …) rather than the node failing: such a call carries no revert data.
 * EntryPoint v0.6 halts this way when a postOp runs out of gas (its catch copies 32 bytes of an empty
 * revert).
 */
export function isEvmHalt(err: unknown): boolean {
  const seen = new Set<unknown>()
  for (
    let e = err, depth = 0;
    e && typeof e === 'object' && depth <= MAX_ERROR_DEPTH && !seen.has(e);
    depth++
  ) {
    seen.add(e)
    const o = e as { details?: unknown; message?: unknown; cause?: unknown }
    const text = `${typeof o.details === 'string' ? o.details : ''} ${typeof o.message === 'string' ? o.message : ''}`
    if (/EVM error|out of gas|invalid opcode|invalid jump|stack (underflow|overflow)|OutOfOffset/i.test(text))
      return true
    e = o.cause
  }
  return false
}

function hexIn(value: unknown): Hex | undefined {
  if (typeof value !== 'string') return undefined
  const s = value.trim()
  if (isHex(s) && size(s as Hex) * 2 === s.length - 2) return s as Hex
  const m = /^Reverted (0x[0-9a-fA-F]*)$/.exec(s)
  return m && size(m[1] as Hex) * 2 === m[1]!.length - 2 ? (m[1] as Hex) : undefined
}

/** HTTP error bodies arrive as strings; a JSON-RPC response inside one still carries the data. */
function parseJsonBody(key: string, value: unknown): unknown {
  if (key !== 'body' || typeof value !== 'string') return value
  try {
    return JSON.parse(value)
  } catch {
    return undefined
  }
}

/** A JSON-RPC error that says "execution reverted" (code 3) but carries no data field. */
function isRevertWithoutData(o: Record<string, unknown>): boolean {
  if ('data' in o && o.data !== undefined && o.data !== null) return false
  const message = typeof o.message === 'string' ? o.message.toLowerCase() : ''
  return (o.code === 3 || o.code === -32000) && message.startsWith('execution reverted')
}

// ── ERC-4337 reason codes ──────────────────────────────────────────────────────────────────────

/** Who a reason code blames: AA1x the factory, AA2x the account, AA3x the paymaster, AA9x the bundle. */
export type AaCategory = 'factory' | 'account' | 'paymaster' | 'bundle' | 'other'

/** The 'AAnn' code a reason string starts with ("AA21 didn't pay prefund" → 'AA21'). */
export function aaCode(reason: string): string | undefined {
  return /^\s*(AA\d\d)\b/.exec(reason)?.[1]
}

export function aaCategory(code: string): AaCategory {
  switch (code.slice(0, 3)) {
    case 'AA1':
      return 'factory'
    case 'AA2':
      return 'account'
    case 'AA3':
      return 'paymaster'
    case 'AA9':
      return 'bundle'
    default:
      return 'other'
  }
}

/** The reason text of a decoded revert, if it has one (FailedOp reasons and Error(string) messages). */
export function revertReason(d: DecodedRevert): string | undefined {
  switch (d.kind) {
    case 'FailedOp':
    case 'FailedOpWithRevert':
      return d.reason
    case 'Error':
      return d.message
    default:
      return undefined
  }
}

/** The AA code of a decoded revert (EntryPointSimulations reports some, like AA20/AA30, as Error(string)). */
export function revertAaCode(d: DecodedRevert): string | undefined {
  const reason = revertReason(d)
  return reason === undefined ? undefined : aaCode(reason)
}

/** The ERC-4337 JSON-RPC error code for a rejection with this AA code (ERC-7769's table). */
export function aaRpcCode(code: string): number {
  if (code === 'AA24' || code === 'AA34') return RpcCode.InvalidSignature
  if (code === 'AA22' || code === 'AA32') return RpcCode.ShortDeadline
  if (code === 'AA31') return RpcCode.PaymasterDepositTooLow
  if (aaCategory(code) === 'paymaster') return RpcCode.RejectedByPaymaster
  return RpcCode.RejectedByEpOrAccount
}

/** One line for logs and error messages (no secrets can be in revert data: it is public chain output). */
export function describeRevert(d: DecodedRevert): string {
  switch (d.kind) {
    case 'FailedOp':
      return `FailedOp(op ${d.opIndex}): ${d.reason}`
    case 'FailedOpWithRevert':
      return `FailedOp(op ${d.opIndex}): ${d.reason}: ${describeRevert(d.innerDecoded)}`
    case 'SignatureValidationFailed':
      return `signature validation failed for aggregator ${d.aggregator}`
    case 'Error':
      return d.message
    case 'Panic':
      return `panic 0x${d.code.toString(16)}: ${d.description}`
    case 'CustomError':
      return `${d.name}(${d.args.map(String).join(', ')})`
    case 'Empty':
      return 'reverted without data'
    case 'Raw':
      return `reverted with unknown data ${d.data.length > 74 ? `${d.data.slice(0, 74)}…` : d.data}`
  }
}
