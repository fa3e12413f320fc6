import type { Address } from 'viem'
import { hashV08 } from './hash.js'
import { packedModule } from './packed-module.js'
import type { EntryPointModule } from './types.js'
import { parseTimeValidationData } from './validity.js'

/** EntryPoint v0.8: v0.7's layout with the EIP-712 userOpHash (domain "ERC4337", version "1"). */
export function entryPointV08(address: Address): EntryPointModule {
  return packedModule(
    {
      version: 'v0.8',
      hash: hashV08,
      opShape: 'v0.7',
      factoryWithDeployedSender: 'reject',
      parseValidationData: parseTimeValidationData,
      paymasterSignature: false,
      eip7702: true,
    },
    address,
  )
}
