import { type Address, pad } from 'viem'
import type { StakeInfo, ValidationResult } from '../../src/sim/types.js'

/**
 * A validation result for pool tests whose validator admits everything: no gas, no time range, no
 * storage read, the sender as given (unstaked by default). Pool rules read only these fields.
 */
export function admittedValidation(
  sender: StakeInfo,
  over: Partial<ValidationResult> = {},
): ValidationResult {
  return {
    preOpGas: 0n,
    prefund: 0n,
    validAfter: 0n,
    validUntil: 0n,
    accountSigFailed: false,
    paymasterSigFailed: false,
    paymasterContext: '0x',
    sender,
    blockNumber: 1n,
    blockHash: pad('0x01', { size: 32 }),
    codeHashes: {},
    accessedStorage: {},
    ...over,
  }
}

export const unstaked = (address: Address): StakeInfo => ({
  address,
  stake: 0n,
  unstakeDelaySec: 0n,
  isStaked: false,
})
