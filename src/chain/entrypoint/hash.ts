import {
  type Address,
  concat,
  encodeAbiParameters,
  type Hash,
  type Hex,
  hashTypedData,
  keccak256,
  size,
  slice,
} from 'viem'
import { hashDelegate, isEip7702Op } from '../eip7702.js'
import type { EntryPointVersion } from '../entrypoint.js'
import {
  PACKED_USER_OP_COMPONENTS,
  PAYMASTER_SIG_MAGIC,
  PAYMASTER_SUFFIX_LEN,
  packUserOp,
  paymasterSignatureLength,
  type UserOperation,
} from '../userop.js'
import { toV06Struct } from './v06-op.js'

/**
 * The userOpHash exactly as each EntryPoint's getUserOpHash computes it (test/entrypoint-hash.test.ts
 * compares with the deployed contracts): v0.6 and v0.7 hash the ABI-encoded fields with the
 * EntryPoint and chain id; v0.8 and v0.9 are the EIP-712 typed-data hash (domain "ERC4337", "1");
 * v0.9 leaves a paymaster signature out.
 */
export type UserOpHasher = (op: UserOperation, entryPoint: Address, chainId: number) => Hash

/** ABI parameters of the given types, for the hashed words of an op. */
function abiTypes(...types: string[]) {
  return types.map((type) => ({ type }))
}

function withEntryPoint(inner: Hash, entryPoint: Address, chainId: number): Hash {
  return keccak256(
    encodeAbiParameters(
      [{ type: 'bytes32' }, { type: 'address' }, { type: 'uint256' }],
      [inner, entryPoint, BigInt(chainId)],
    ),
  )
}

export const hashV06: UserOpHasher = (op, entryPoint, chainId) => {
  const s = toV06Struct(op)
  const inner = keccak256(
    encodeAbiParameters(
      abiTypes(
        'address',
        'uint256',
        'bytes32',
        'bytes32',
        'uint256',
        'uint256',
        'uint256',
        'uint256',
        'uint256',
        'bytes32',
      ),
      [
        s.sender,
        s.nonce,
        keccak256(s.initCode),
        keccak256(s.callData),
        s.callGasLimit,
        s.verificationGasLimit,
        s.preVerificationGas,
        s.maxFeePerGas,
        s.maxPriorityFeePerGas,
        keccak256(s.paymasterAndData),
      ],
    ),
  )
  return withEntryPoint(inner, entryPoint, chainId)
}

export const hashV07: UserOpHasher = (op, entryPoint, chainId) => {
  const p = packUserOp(op)
  const inner = keccak256(
    encodeAbiParameters(
      abiTypes('address', 'uint256', 'bytes32', 'bytes32', 'bytes32', 'uint256', 'bytes32', 'bytes32'),
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
  return withEntryPoint(inner, entryPoint, chainId)
}

/**
 * EIP-712 types of the packed op without its signature. Built on first use: userop.ts re-exports
 * this module, so its own constants are not yet there while this module loads.
 */
let packedType: { PackedUserOperation: { name: string; type: string }[] } | undefined
function packedUserOperationType() {
  packedType ??= { PackedUserOperation: PACKED_USER_OP_COMPONENTS.filter((c) => c.name !== 'signature') }
  return packedType
}

function typedDataHash(op: UserOperation, entryPoint: Address, chainId: number, paymasterAndData: Hex): Hash {
  const p = packUserOp(op)
  return hashTypedData({
    domain: { name: 'ERC4337', version: '1', chainId, verifyingContract: entryPoint },
    types: packedUserOperationType(),
    primaryType: 'PackedUserOperation',
    message: { ...p, initCode: hashedInitCode(op, p.initCode), paymasterAndData },
  })
}

/**
 * v0.8+ EIP-7702: for an initCode starting with the 0x7702 marker the EntryPoint hashes
 * `delegate ‖ initCode[20:]` (the sender's current delegate, which the authorization sets).
 */
function hashedInitCode(op: UserOperation, initCode: Hex): Hex {
  if (!isEip7702Op(op)) return initCode
  const delegate = hashDelegate(op)
  if (!delegate) throw new Error(`7702 op of ${op.sender}: no authorization and no known delegate to hash`)
  return concat([delegate, op.factoryData ?? '0x'])
}

export const hashV08: UserOpHasher = (op, entryPoint, chainId) =>
  typedDataHash(op, entryPoint, chainId, packUserOp(op).paymasterAndData)

export const hashV09: UserOpHasher = (op, entryPoint, chainId) =>
  typedDataHash(op, entryPoint, chainId, signedPaymasterAndData(packUserOp(op).paymasterAndData))

/**
 * What v0.9 hashes of paymasterAndData: everything before a trailing paymaster signature, with the
 * magic still appended (so "no signature" and "an empty signature" differ), as the EntryPoint does.
 */
export function signedPaymasterAndData(paymasterAndData: Hex): Hex {
  const sigLen = paymasterSignatureLength(paymasterAndData) ?? 0
  if (sigLen === 0) return paymasterAndData
  const end = size(paymasterAndData) - (sigLen + PAYMASTER_SUFFIX_LEN)
  return concat([slice(paymasterAndData, 0, end), PAYMASTER_SIG_MAGIC])
}

const HASHERS: Record<EntryPointVersion, UserOpHasher> = {
  'v0.6': hashV06,
  'v0.7': hashV07,
  'v0.8': hashV08,
  'v0.9': hashV09,
}

/** The userOpHash of `op` at the EntryPoint `entryPoint` of `version` on chain `chainId`. */
export function userOpHash(
  op: UserOperation,
  entryPoint: Address,
  chainId: number,
  version: EntryPointVersion,
): Hash {
  return HASHERS[version](op, entryPoint, chainId)
}
