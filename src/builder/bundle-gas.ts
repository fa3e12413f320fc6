import type { Hex } from 'viem'
import type { EntryPointModule } from '../chain/entrypoint/types.js'
import { bundleGasLimit } from '../chain/gas.js'
import type { PoolOp } from '../pool/types.js'

/**
 * How the validation share of a bundle's gas limit is reserved:
 * - declared: each op's verification limits in full (the EntryPoint may let validation spend them);
 * - simulated: the validation gas the op used in its latest simulation, with a margin, never more
 *   than its limits. Call and postOp gas are reserved in full either way: the EntryPoint refuses to
 *   run an op's call ("AA95 out of gas") unless callGasLimit + postOp limit are left, whatever the
 *   call will use.
 * A block is packed by gas limits, so a limit near what the bundle uses lets more bundles share it.
 */
export type BundleValidationGas = 'simulated' | 'declared'

/**
 * Margin over the simulated validation gas: state can move between the bundle-time simulation and
 * inclusion (a slot written zero → non-zero costs 17,100 more than non-zero → non-zero), so 10 %
 * plus the price of one such write. During validation the whole execution share is still in the
 * transaction, so only the bundle's total, not each op's share, has to hold.
 */
export const VALIDATION_MARGIN_PERCENT = 10n
export const VALIDATION_MARGIN_GAS = 20_000n

/**
 * The validation gas to hold for one op: the simulated use (preOpGas less preVerificationGas,
 * which includes the EntryPoint's own validation bookkeeping) with the margin, capped by the op's
 * declared verification limits. Unknown or implausible use → the declared limits.
 */
export function validationReserve(declared: bigint, preOpGas: bigint | undefined, pvg: bigint): bigint {
  if (preOpGas === undefined || preOpGas <= pvg) return declared
  const used = preOpGas - pvg
  const reserve = (used * (100n + VALIDATION_MARGIN_PERCENT) + 99n) / 100n + VALIDATION_MARGIN_GAS
  return reserve < declared ? reserve : declared
}

/** The bundle transaction's gas limit by the EntryPoint's rules, each op with its paymaster context. */
export function bundleGas(
  ep: EntryPointModule,
  ops: readonly PoolOp[],
  data: Hex,
  mode: BundleValidationGas,
): bigint {
  const byOp = new Map(ops.map((c) => [c.op, c]))
  return bundleGasLimit(
    ops.map((c) => c.op),
    data,
    (op) => opGasReserve(ep, byOp.get(op) as PoolOp, mode),
  )
}

/** One op's share of the bundle's gas limit (its calldata aside): execution limits, validation by `mode`. */
export function opGasReserve(ep: EntryPointModule, c: PoolOp, mode: BundleValidationGas): bigint {
  const full = ep.gas.executionGas(c.op, c.validation.paymasterContext)
  if (mode === 'declared') return full
  const declared = ep.gas.verificationGas(c.op)
  return full - declared + validationReserve(declared, c.validation.preOpGas, c.op.preVerificationGas)
}
