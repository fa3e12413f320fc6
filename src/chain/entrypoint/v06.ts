import { type Address, encodeAbiParameters } from 'viem'
import { entryPointAbi, entryPointArtifact } from '../entrypoint.js'
import { bundleCodec } from './bundle-abi.js'
import { V06_GAS_RULES } from './gas-rules.js'
import { hashV06 } from './hash.js'
import { v06Simulation } from './simulation-v06.js'
import type { EntryPointModule } from './types.js'
import { fromV06Struct, toV06Struct, V06_USER_OP_COMPONENTS } from './v06-op.js'
import { parseTimeValidationData } from './validity.js'

/**
 * EntryPoint v0.6: the UserOperation struct with packed initCode and paymasterAndData (no paymaster
 * gas limits: verificationGasLimit serves the paymaster too, postOp included), the ABI-encoded
 * userOpHash, and simulation methods on the EntryPoint itself that revert with their results.
 */
export function entryPointV06(address: Address): EntryPointModule {
  const abi = entryPointAbi('v0.6')
  return {
    version: 'v0.6',
    address,
    abi,
    opShape: 'v0.6',
    artifact: (name) => entryPointArtifact('v0.6', name),
    hash: (op, chainId) => hashV06(op, address, chainId),
    toAbi: toV06Struct,
    ...bundleCodec(abi, toV06Struct, fromV06Struct),
    encodedOpForCalldata: (op) =>
      encodeAbiParameters([{ type: 'tuple', components: V06_USER_OP_COMPONENTS }], [toV06Struct(op)]),
    factoryWithDeployedSender: 'reject',
    parseValidationData: parseTimeValidationData,
    gas: V06_GAS_RULES,
    simulation: v06Simulation(address),
    eip7702: false,
  }
}
