import { size } from 'viem'
import type { ChainSpec } from '../chain/chain-spec.js'
import type { EntryPointModule } from '../chain/entrypoint/types.js'
import { requiredPreVerificationGas } from '../chain/gas.js'
import type { UserOperation } from '../chain/userop.js'

/**
 * preVerificationGas for an op whose signature, paymaster data and gas fields will still change
 * after estimation. `requiredPreVerificationGas` already prices the signature, the paymaster data
 * and the PVG field itself as all non-zero bytes; here the rest the signer may still fill in is
 * widened to a realistic worst case: the signature to at least 65 bytes, and the gas and fee fields
 * to all-ones of their byte length (at least 3 bytes for gas, 8 for fees).
 */
export function estimatePreVerificationGas(
  op: UserOperation,
  spec: ChainSpec,
  /** The op's EntryPoint's rules (its module); default v0.7+. */
  ep?: Pick<EntryPointModule, 'encodedOpForCalldata' | 'gas'>,
): bigint {
  const worst = worstCaseOp(op)
  return requiredPreVerificationGas(worst, spec, ep?.encodedOpForCalldata, ep?.gas.preVerificationOverhead)
}

/** The op with every field the signer may still fill in at its realistic worst (see above). */
export function worstCaseOp(op: UserOperation): UserOperation {
  const worst: UserOperation = {
    ...op,
    signature: `0x${'ff'.repeat(Math.max(size(op.signature), 65))}`,
    callGasLimit: allOnes(op.callGasLimit, 3),
    verificationGasLimit: allOnes(op.verificationGasLimit, 3),
    maxFeePerGas: allOnes(op.maxFeePerGas, 8),
    maxPriorityFeePerGas: allOnes(op.maxPriorityFeePerGas, 8),
  }
  if (op.paymasterSignature !== undefined)
    worst.paymasterSignature = `0x${'ff'.repeat(Math.max(size(op.paymasterSignature), 65))}`
  if (op.paymaster && op.paymasterVerificationGasLimit !== undefined) {
    worst.paymasterVerificationGasLimit = allOnes(op.paymasterVerificationGasLimit ?? 0n, 3)
    worst.paymasterPostOpGasLimit = allOnes(op.paymasterPostOpGasLimit ?? 0n, 3)
  }
  return worst
}

/**
 * eth_estimateUserOperationGas adds this much over the op's current share of the L1 data fee: the
 * fee moves with every L1 block (the L1 base fee by up to 12.5 % a block, the blob fee faster), and
 * an op whose preVerificationGas stops covering its share waits in the pool until it does again.
 */
export const DA_ESTIMATE_HEADROOM_PERCENT = 25n

export function withDaHeadroom(daGas: bigint): bigint {
  return (daGas * (100n + DA_ESTIMATE_HEADROOM_PERCENT) + 99n) / 100n
}

/** The largest value with as many bytes as `x` (and at least `minBytes`): every byte 0xff. */
export function allOnes(x: bigint, minBytes: number): bigint {
  let bytes = 0
  for (let v = x; v > 0n; v >>= 8n) bytes++
  return (1n << (8n * BigInt(Math.max(bytes, minBytes)))) - 1n
}
