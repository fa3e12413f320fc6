import type { Address } from 'viem'
import { hashV07 } from './hash.js'
import { packedModule } from './packed-module.js'
import type { EntryPointModule } from './types.js'
import { parseTimeValidationData } from './validity.js'

/** EntryPoint v0.7: PackedUserOperation, the ABI-encoded userOpHash, EntryPointSimulations by override. */
export function entryPointV07(address: Address): EntryPointModule {
  return packedModule(
    {
      version: 'v0.7',
      hash: hashV07,
      opShape: 'v0.7',
      factoryWithDeployedSender: 'reject',
      parseValidationData: parseTimeValidationData,
      paymasterSignature: false,
      eip7702: false,
    },
    address,
  )
}
