import { type Address, type Hex, size } from 'viem'
import { type DaGas, feeToGas, opGasPrice } from '../chain/da/da-gas.js'
import type { EntryPointModule } from '../chain/entrypoint/types.js'
import { requiredPreVerificationGas } from '../chain/gas.js'
import type { PoolOp } from '../pool/types.js'
import type { SkippedOp } from './bundle.js'

/**
 * The L1 data fee at bundle time (L2 chains). The fee moves every block: an op admitted when its
 * preVerificationGas covered its share may no longer cover it. Such an op is skipped, not removed:
 * it waits in the pool until the fee falls back or the user replaces it with a higher PVG.
 */
export async function opsCoveringL1Fee(
  daGas: DaGas,
  ep: Pick<EntryPointModule, 'address' | 'encodedOpForCalldata' | 'gas'>,
  ops: PoolOp[],
  blockNumber: bigint,
  baseFee: bigint,
): Promise<{ kept: PoolOp[]; skipped: SkippedOp[] }> {
  const kept: PoolOp[] = []
  const skipped: SkippedOp[] = []
  const shares = await Promise.all(
    ops.map((c) =>
      daGas.opDaGas(ep.address, c.op, blockNumber, opGasPrice(c.op, baseFee), ep.encodedOpForCalldata),
    ),
  )
  ops.forEach((c, i) => {
    const required =
      requiredPreVerificationGas(c.op, daGas.spec, ep.encodedOpForCalldata, ep.gas.preVerificationOverhead) +
      (shares[i] as bigint)
    if (c.op.preVerificationGas < required) skipped.push({ hash: c.hash, reason: 'l1_fee_not_covered' })
    else kept.push(c)
  })
  return { kept, skipped }
}

/** Margin on the L1 gas a bundle's gas limit carries (Arbitrum): the L2 base fee may fall before it lands. */
const L1_GAS_LIMIT_MARGIN_PERCENT = 20n

/**
 * What a bundle's calldata costs on L1: the fee (wei) the bundler pays beside the L2 gas, and, where
 * the chain takes it through the gas limit (Arbitrum), the gas to add to the transaction's limit.
 */
export async function bundleL1Cost(
  daGas: DaGas,
  entryPoint: Address,
  calldata: Hex,
  blockNumber: bigint,
  baseFee: bigint,
): Promise<{ fee: bigint; gasLimit: bigint }> {
  const fee = await daGas.bundleFee(entryPoint, size(calldata), blockNumber)
  if (!daGas.spec.da.inGasLimit) return { fee, gasLimit: 0n }
  const gas = feeToGas(fee, baseFee)
  return { fee, gasLimit: (gas * (100n + L1_GAS_LIMIT_MARGIN_PERCENT) + 99n) / 100n }
}
