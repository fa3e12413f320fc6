import { type Address, concat, getAddress, type Hex, size, slice } from 'viem'
import type { UserOperation } from '../userop.js'

/** The on-chain `UserOperation` struct of EntryPoint v0.6. */
export interface UserOperationV06 {
  sender: Address
  nonce: bigint
  initCode: Hex
  callData: Hex
  callGasLimit: bigint
  verificationGasLimit: bigint
  preVerificationGas: bigint
  maxFeePerGas: bigint
  maxPriorityFeePerGas: bigint
  paymasterAndData: Hex
  signature: Hex
}

/** The ABI shape of v0.6's UserOperation, for handleOps, simulateValidation and aggregators. */
export const V06_USER_OP_COMPONENTS = [
  { name: 'sender', type: 'address' },
  { name: 'nonce', type: 'uint256' },
  { name: 'initCode', type: 'bytes' },
  { name: 'callData', type: 'bytes' },
  { name: 'callGasLimit', type: 'uint256' },
  { name: 'verificationGasLimit', type: 'uint256' },
  { name: 'preVerificationGas', type: 'uint256' },
  { name: 'maxFeePerGas', type: 'uint256' },
  { name: 'maxPriorityFeePerGas', type: 'uint256' },
  { name: 'paymasterAndData', type: 'bytes' },
  { name: 'signature', type: 'bytes' },
] as const

/** v0.6 paymasterAndData: the paymaster's address and its data, no gas limits. */
export function v06PaymasterAndData(op: UserOperation): Hex {
  return op.paymaster ? concat([op.paymaster, op.paymasterData ?? '0x']) : '0x'
}

export function v06InitCode(op: UserOperation): Hex {
  return op.factory ? concat([op.factory, op.factoryData ?? '0x']) : '0x'
}

export function toV06Struct(op: UserOperation): UserOperationV06 {
  return {
    sender: op.sender,
    nonce: op.nonce,
    initCode: v06InitCode(op),
    callData: op.callData,
    callGasLimit: op.callGasLimit,
    verificationGasLimit: op.verificationGasLimit,
    preVerificationGas: op.preVerificationGas,
    maxFeePerGas: op.maxFeePerGas,
    maxPriorityFeePerGas: op.maxPriorityFeePerGas,
    paymasterAndData: v06PaymasterAndData(op),
    signature: op.signature,
  }
}

/**
 * The op of a v0.6 struct: initCode and paymasterAndData split after their 20-byte address, so
 * toV06Struct gives the same bytes back. A non-empty field shorter than an address (the EntryPoint
 * refuses such ops, so none is ever mined) is dropped.
 */
export function fromV06Struct(s: UserOperationV06): UserOperation {
  const op: UserOperation = {
    sender: getAddress(s.sender),
    nonce: s.nonce,
    callData: s.callData,
    callGasLimit: s.callGasLimit,
    verificationGasLimit: s.verificationGasLimit,
    preVerificationGas: s.preVerificationGas,
    maxFeePerGas: s.maxFeePerGas,
    maxPriorityFeePerGas: s.maxPriorityFeePerGas,
    signature: s.signature,
  }
  const init = splitAddress(s.initCode)
  if (init) {
    op.factory = init.address
    op.factoryData = init.data
  }
  const pm = splitAddress(s.paymasterAndData)
  if (pm) {
    op.paymaster = pm.address
    op.paymasterData = pm.data
  }
  return op
}

function splitAddress(data: Hex): { address: Address; data: Hex } | undefined {
  if (size(data) < 20) return undefined
  return { address: getAddress(slice(data, 0, 20)), data: size(data) > 20 ? slice(data, 20) : '0x' }
}
