import { type Address, encodeAbiParameters } from 'viem'
import { type EntryPointVersion, entryPointAbi, entryPointArtifact } from '../entrypoint.js'
import { PACKED_USER_OP_COMPONENTS, type PackedUserOperation, packUserOp, unpackUserOp } from '../userop.js'
import { bundleCodec } from './bundle-abi.js'
import { PACKED_GAS_RULES } from './gas-rules.js'
import type { UserOpHasher } from './hash.js'
import { packedSimulation } from './simulation-packed.js'
import type { EntryPointModule, OpShape, ValidationData } from './types.js'

/** What sets v0.7, v0.8 and v0.9 apart inside the one PackedUserOperation layout they share. */
export interface PackedVersion {
  version: EntryPointVersion
  hash: UserOpHasher
  opShape: OpShape
  factoryWithDeployedSender: 'reject' | 'ignore'
  parseValidationData(data: bigint): ValidationData
  /** v0.9: paymasterAndData may end with a paymaster signature (unpacked into paymasterSignature). */
  paymasterSignature: boolean
  eip7702: boolean
}

/** An EntryPoint of the PackedUserOperation family (v0.7+) at `address`. */
export function packedModule(v: PackedVersion, address: Address): EntryPointModule {
  const abi = entryPointAbi(v.version)
  const unpack = (p: PackedUserOperation) => unpackUserOp(p, { paymasterSignature: v.paymasterSignature })
  return {
    version: v.version,
    address,
    abi,
    opShape: v.opShape,
    artifact: (name) => entryPointArtifact(v.version, name),
    hash: (op, chainId) => v.hash(op, address, chainId),
    toAbi: packUserOp,
    ...bundleCodec(abi, packUserOp, unpack),
    encodedOpForCalldata: (op) =>
      encodeAbiParameters([{ type: 'tuple', components: PACKED_USER_OP_COMPONENTS }], [packUserOp(op)]),
    factoryWithDeployedSender: v.factoryWithDeployedSender,
    parseValidationData: v.parseValidationData,
    gas: PACKED_GAS_RULES,
    simulation: packedSimulation(v.version, address),
    eip7702: v.eip7702,
  }
}
