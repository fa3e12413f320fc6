import {
  type Address,
  concat,
  encodeAbiParameters,
  getAddress,
  type Hex,
  hashTypedData,
  keccak256,
  pad,
  size,
  slice,
  toHex,
} from 'viem'
import type { EntryPointVersion } from './entrypoint.js'

/** A user operation in the unpacked form of the ERC-4337 JSON-RPC (v0.7 and v0.8). */
export interface UserOperation {
  sender: Address
  nonce: bigint
  factory?: Address
  factoryData?: Hex
  callData: Hex
  callGasLimit: bigint
  verificationGasLimit: bigint
  preVerificationGas: bigint
  maxFeePerGas: bigint
  maxPriorityFeePerGas: bigint
  paymaster?: Address
  paymasterVerificationGasLimit?: bigint
  paymasterPostOpGasLimit?: bigint
  paymasterData?: Hex
  signature: Hex
}

/** The on-chain `PackedUserOperation` struct of v0.7+. */
export interface PackedUserOperation {
  sender: Address
  nonce: bigint
  initCode: Hex
  callData: Hex
  accountGasLimits: Hex
  preVerificationGas: bigint
  gasFees: Hex
  paymasterAndData: Hex
  signature: Hex
}

const U128_MAX = (1n << 128n) - 1n

function packU128Pair(high: bigint, low: bigint): Hex {
  if (high < 0n || high > U128_MAX || low < 0n || low > U128_MAX)
    throw new RangeError('gas value exceeds uint128')
  return concat([pad(toHex(high), { size: 16 }), pad(toHex(low), { size: 16 })])
}

function unpackU128Pair(packed: Hex): [bigint, bigint] {
  return [BigInt(slice(packed, 0, 16)), BigInt(slice(packed, 16, 32))]
}

export function initCodeOf(op: UserOperation): Hex {
  return op.factory ? concat([op.factory, op.factoryData ?? '0x']) : '0x'
}

export function paymasterAndDataOf(op: UserOperation): Hex {
  if (!op.paymaster) return '0x'
  return concat([
    op.paymaster,
    pad(toHex(op.paymasterVerificationGasLimit ?? 0n), { size: 16 }),
    pad(toHex(op.paymasterPostOpGasLimit ?? 0n), { size: 16 }),
    op.paymasterData ?? '0x',
  ])
}

export function packUserOp(op: UserOperation): PackedUserOperation {
  return {
    sender: op.sender,
    nonce: op.nonce,
    initCode: initCodeOf(op),
    callData: op.callData,
    accountGasLimits: packU128Pair(op.verificationGasLimit, op.callGasLimit),
    preVerificationGas: op.preVerificationGas,
    gasFees: packU128Pair(op.maxPriorityFeePerGas, op.maxFeePerGas),
    paymasterAndData: paymasterAndDataOf(op),
    signature: op.signature,
  }
}

export function unpackUserOp(p: PackedUserOperation): UserOperation {
  const [verificationGasLimit, callGasLimit] = unpackU128Pair(p.accountGasLimits)
  const [maxPriorityFeePerGas, maxFeePerGas] = unpackU128Pair(p.gasFees)
  const op: UserOperation = {
    sender: getAddress(p.sender),
    nonce: p.nonce,
    callData: p.callData,
    callGasLimit,
    verificationGasLimit,
    preVerificationGas: p.preVerificationGas,
    maxFeePerGas,
    maxPriorityFeePerGas,
    signature: p.signature,
  }
  if (size(p.initCode) >= 20) {
    op.factory = getAddress(slice(p.initCode, 0, 20))
    op.factoryData = size(p.initCode) > 20 ? slice(p.initCode, 20) : '0x'
  }
  if (size(p.paymasterAndData) >= 52) {
    op.paymaster = getAddress(slice(p.paymasterAndData, 0, 20))
    op.paymasterVerificationGasLimit = BigInt(slice(p.paymasterAndData, 20, 36))
    op.paymasterPostOpGasLimit = BigInt(slice(p.paymasterAndData, 36, 52))
    op.paymasterData = size(p.paymasterAndData) > 52 ? slice(p.paymasterAndData, 52) : '0x'
  }
  return op
}

/** The ABI shape of PackedUserOperation, for encoding handleOps and friends. */
export const PACKED_USER_OP_COMPONENTS = [
  { name: 'sender', type: 'address' },
  { name: 'nonce', type: 'uint256' },
  { name: 'initCode', type: 'bytes' },
  { name: 'callData', type: 'bytes' },
  { name: 'accountGasLimits', type: 'bytes32' },
  { name: 'preVerificationGas', type: 'uint256' },
  { name: 'gasFees', type: 'bytes32' },
  { name: 'paymasterAndData', type: 'bytes' },
  { name: 'signature', type: 'bytes' },
] as const

const V08_TYPES = {
  PackedUserOperation: PACKED_USER_OP_COMPONENTS.filter((c) => c.name !== 'signature'),
} as const

/**
 * The userOpHash as the EntryPoint computes it: v0.7 hashes the packed fields with the entry point
 * and chain id; v0.8 is the EIP-712 typed-data hash (domain "ERC4337", version "1").
 */
export function userOpHash(
  op: UserOperation,
  entryPoint: Address,
  chainId: number,
  version: EntryPointVersion,
): Hex {
  const p = packUserOp(op)
  if (version === 'v0.7') {
    const inner = keccak256(
      encodeAbiParameters(
        [
          { type: 'address' },
          { type: 'uint256' },
          { type: 'bytes32' },
          { type: 'bytes32' },
          { type: 'bytes32' },
          { type: 'uint256' },
          { type: 'bytes32' },
          { type: 'bytes32' },
        ],
        [
          p.sender,
          p.nonce,
          keccak256(p.initCode),
          keccak256(p.callData),
          p.accountGasLimits,
          p.preVerificationGas,
          p.gasFees,
          keccak256(p.paymasterAndData),
        ],
      ),
    )
    return keccak256(
      encodeAbiParameters(
        [{ type: 'bytes32' }, { type: 'address' }, { type: 'uint256' }],
        [inner, entryPoint, BigInt(chainId)],
      ),
    )
  }
  return hashTypedData({
    domain: { name: 'ERC4337', version: '1', chainId, verifyingContract: entryPoint },
    types: V08_TYPES,
    primaryType: 'PackedUserOperation',
    message: {
      sender: p.sender,
      nonce: p.nonce,
      initCode: p.initCode,
      callData: p.callData,
      accountGasLimits: p.accountGasLimits,
      preVerificationGas: p.preVerificationGas,
      gasFees: p.gasFees,
      paymasterAndData: p.paymasterAndData,
    },
  })
}
