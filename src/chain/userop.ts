import { type Address, concat, getAddress, type Hex, pad, size, slice, toHex } from 'viem'
import type { Eip7702Auth } from './eip7702.js'

/**
 * A user operation as Conveyor holds it, for every EntryPoint version: the unpacked form of the
 * ERC-4337 JSON-RPC. A v0.6 op keeps its `initCode` as factory + factoryData and its
 * `paymasterAndData` as paymaster + paymasterData (it has no paymaster gas limits); only v0.9 ops
 * carry a separate `paymasterSignature`. Each version's module (chain/entrypoint/) packs, hashes
 * and prices it the way its EntryPoint does. Plain data: it crosses process boundaries as is.
 */
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
  /**
   * v0.9: the paymaster's signature, signed in parallel with the user's and not covered by the
   * userOpHash. Packed as `paymasterSignature ‖ uint16(length) ‖ PAYMASTER_SIG_MAGIC` after paymasterData.
   */
  paymasterSignature?: Hex
  signature: Hex
  /**
   * v0.8+: the EIP-7702 authorization delegating the sender (an EOA) to an implementation; the op's
   * factory is then the 0x7702 marker. Carried into the bundle's authorization list, not into handleOps.
   */
  eip7702Auth?: Eip7702Auth
  /**
   * A 7702 op without an authorization (the sender is already delegated): the delegate read from
   * the chain at admission, which the userOpHash covers. Never on the wire.
   */
  eip7702Delegate?: Address
}

/** keccak256("PaymasterSignature")[:8]: marks a v0.9 paymasterAndData that ends with a paymaster signature. */
export const PAYMASTER_SIG_MAGIC: Hex = '0x22e325a297439656'
/** paymaster (20) + verification gas (16) + postOp gas (16). */
export const PAYMASTER_DATA_OFFSET = 52
/** uint16 length + the 8-byte magic. */
export const PAYMASTER_SUFFIX_LEN = 10

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
    paymasterSignatureSuffix(op.paymasterSignature),
  ])
}

function paymasterSignatureSuffix(signature: Hex | undefined): Hex {
  if (signature === undefined) return '0x'
  return concat([signature, pad(toHex(size(signature)), { size: 2 }), PAYMASTER_SIG_MAGIC])
}

/**
 * The length of the paymaster signature a v0.9 paymasterAndData ends with (0 when it ends with
 * none), as the v0.9 EntryPoint reads it; undefined when the length field points before paymasterData.
 */
export function paymasterSignatureLength(paymasterAndData: Hex): number | undefined {
  const len = size(paymasterAndData)
  if (len < PAYMASTER_DATA_OFFSET + PAYMASTER_SUFFIX_LEN) return 0
  if (slice(paymasterAndData, len - 8).toLowerCase() !== PAYMASTER_SIG_MAGIC) return 0
  const sigLen = Number(BigInt(slice(paymasterAndData, len - PAYMASTER_SUFFIX_LEN, len - 8)))
  return sigLen > len - PAYMASTER_DATA_OFFSET - PAYMASTER_SUFFIX_LEN ? undefined : sigLen
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

/**
 * The op of a PackedUserOperation. With `paymasterSignature` (v0.9), a signature suffix at the end of
 * paymasterAndData becomes the op's paymasterSignature, so packing it again yields the same bytes.
 */
export function unpackUserOp(
  p: PackedUserOperation,
  opts: { paymasterSignature?: boolean } = {},
): UserOperation {
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
    const sigLen = opts.paymasterSignature ? paymasterSignatureLength(p.paymasterAndData) : 0
    if (sigLen) {
      const end = size(p.paymasterAndData) - PAYMASTER_SUFFIX_LEN
      op.paymasterSignature = slice(p.paymasterAndData, end - sigLen, end)
      op.paymasterData = end - sigLen > 52 ? slice(p.paymasterAndData, 52, end - sigLen) : '0x'
    }
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

export { userOpHash } from './entrypoint/hash.js'
