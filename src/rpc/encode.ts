import { type Address, type Hex, toHex } from 'viem'
import type { UserOperation } from '../chain/userop.js'

/** Output side of the RPC: bigints become 0x-quantities, absent optional fields are omitted (v0.7+ shape; op-shapes.ts has each version's). */

export type RpcUserOperation = {
  sender: Address
  nonce: Hex
  factory?: Address
  factoryData?: Hex
  callData: Hex
  callGasLimit: Hex
  verificationGasLimit: Hex
  preVerificationGas: Hex
  maxFeePerGas: Hex
  maxPriorityFeePerGas: Hex
  paymaster?: Address
  paymasterVerificationGasLimit?: Hex
  paymasterPostOpGasLimit?: Hex
  paymasterData?: Hex
  /** v0.9 only. */
  paymasterSignature?: Hex
  signature: Hex
  /** v0.8+: the EIP-7702 authorization (rpc/eip7702-auth.ts). */
  eip7702Auth?: { chainId: Hex; address: Address; nonce: Hex; yParity: Hex; r: Hex; s: Hex }
}

export function quantity(v: bigint | number): Hex {
  return toHex(v)
}

export function encodeUserOp(op: UserOperation): RpcUserOperation {
  const out: RpcUserOperation = {
    sender: op.sender,
    nonce: quantity(op.nonce),
    callData: op.callData,
    callGasLimit: quantity(op.callGasLimit),
    verificationGasLimit: quantity(op.verificationGasLimit),
    preVerificationGas: quantity(op.preVerificationGas),
    maxFeePerGas: quantity(op.maxFeePerGas),
    maxPriorityFeePerGas: quantity(op.maxPriorityFeePerGas),
    signature: op.signature,
  }
  if (op.factory) {
    out.factory = op.factory
    out.factoryData = op.factoryData ?? '0x'
  }
  if (op.paymaster) {
    out.paymaster = op.paymaster
    out.paymasterVerificationGasLimit = quantity(op.paymasterVerificationGasLimit ?? 0n)
    out.paymasterPostOpGasLimit = quantity(op.paymasterPostOpGasLimit ?? 0n)
    out.paymasterData = op.paymasterData ?? '0x'
  }
  return out
}

const RECEIPT_STATUS: Record<string, Hex> = { success: '0x1', reverted: '0x0' }
const TX_TYPE: Record<string, Hex> = {
  legacy: '0x0',
  eip2930: '0x1',
  eip1559: '0x2',
  eip4844: '0x3',
  eip7702: '0x4',
}

/**
 * Brings a log or receipt into the node's wire form. The pool may remember them as viem returned
 * them (bigints, numbers, `status: 'success'`); clients expect what eth_getTransactionReceipt gives.
 */
export function toWire(value: unknown, depth = 0): unknown {
  if (depth > 8) return null // logs and receipts are shallow; anything deeper is not ours to echo
  if (typeof value === 'bigint') return toHex(value)
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? toHex(value) : null
  if (Array.isArray(value)) return value.map((v) => toWire(v, depth + 1))
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) {
      if (k === 'status' && typeof v === 'string' && v in RECEIPT_STATUS) out[k] = RECEIPT_STATUS[v]
      else if (k === 'type' && typeof v === 'string' && v in TX_TYPE) out[k] = TX_TYPE[v]
      else out[k] = toWire(v, depth + 1)
    }
    return out
  }
  return value
}

/** JSON.stringify that cannot throw on a bigint a handler forgot to encode. */
export function stringifyJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? toHex(v) : v))
}
