import type { Address } from 'viem'
import { hashV09 } from './hash.js'
import { packedModule } from './packed-module.js'
import type { EntryPointModule } from './types.js'
import { parseV09ValidationData } from './validity.js'

/**
 * EntryPoint v0.9: v0.8 plus a paymaster signature outside the hash (appended to paymasterAndData
 * with its length and a magic), validity ranges in block numbers when their high bits are set, and
 * the initCode of an op whose sender already has code ignored rather than refused.
 */
export function entryPointV09(address: Address): EntryPointModule {
  return packedModule(
    {
      version: 'v0.9',
      hash: hashV09,
      opShape: 'v0.9',
      factoryWithDeployedSender: 'ignore',
      parseValidationData: parseV09ValidationData,
      paymasterSignature: true,
      eip7702: true,
    },
    address,
  )
}
