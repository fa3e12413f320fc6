import { type Hex, size } from 'viem'
import type { ChainSpec } from '../chain/chain-spec.js'
import { requiredPreVerificationGas } from '../chain/gas.js'
import type { UserOperation } from '../chain/userop.js'

/**
 * preVerificationGas for an op whose signature, paymaster data and gas fields will still change
 * after estimation. Calldata costs 4 gas per zero byte and 16 per other byte, so each field the
 * signer may still fill in is priced at its worst case of a realistic size:
 * - signature and paymasterData: their length (a signature at least 65 bytes), every byte non-zero;
 * - gas and fee fields: all-ones of their byte length (at least 3 bytes for gas, 8 for fees), so
 *   any value up to that size is covered;
 * - preVerificationGas prices its own bytes: iterate until the value fits the width it assumed.
 */
export function estimatePreVerificationGas(op: UserOperation, spec: ChainSpec): bigint {
  const worst: UserOperation = {
    ...op,
    signature: nonZeroBytes(Math.max(size(op.signature), 65)),
    callGasLimit: allOnes(op.callGasLimit, 3),
    verificationGasLimit: allOnes(op.verificationGasLimit, 3),
    maxFeePerGas: allOnes(op.maxFeePerGas, 8),
    maxPriorityFeePerGas: allOnes(op.maxPriorityFeePerGas, 8),
  }
  if (op.paymaster) {
    worst.paymasterVerificationGasLimit = allOnes(op.paymasterVerificationGasLimit ?? 0n, 3)
    worst.paymasterPostOpGasLimit = allOnes(op.paymasterPostOpGasLimit ?? 0n, 3)
    worst.paymasterData = nonZeroBytes(size(op.paymasterData ?? '0x'))
  }
  let assumed = allOnes(0n, 3)
  for (;;) {
    const pvg = requiredPreVerificationGas({ ...worst, preVerificationGas: assumed }, spec)
    if (pvg <= assumed) return pvg
    assumed = allOnes(pvg, 3)
  }
}

/** The largest value with as many bytes as `x` (and at least `minBytes`): every byte 0xff. */
export function allOnes(x: bigint, minBytes: number): bigint {
  let bytes = 0
  for (let v = x; v > 0n; v >>= 8n) bytes++
  return (1n << (8n * BigInt(Math.max(bytes, minBytes)))) - 1n
}

function nonZeroBytes(n: number): Hex {
  return `0x${'ff'.repeat(n)}`
}
