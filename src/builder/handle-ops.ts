import type { Address, Hex } from 'viem'
import type { EntryPointModule } from '../chain/entrypoint/types.js'
import type { UserOperation } from '../chain/userop.js'
import type { PoolOp } from '../pool/types.js'
import type { OpGroup } from './bundle.js'

/** The op as a bundle carries it: an aggregated op carries its aggregator's `sigForUserOp` (ERC-7766). */
export function bundledOp(c: PoolOp): UserOperation {
  const sig = c.aggregator ? c.validation.aggregator?.sigForUserOp : undefined
  return sig === undefined ? c.op : { ...c.op, signature: sig }
}

/**
 * handleOps when no group has an aggregator, else handleAggregatedOps (plain ops under aggregator
 * 0), in the ABI of the bundle's EntryPoint version.
 */
export function encodeBundleCall(ep: EntryPointModule, groups: OpGroup[], beneficiary: Address): Hex {
  return ep.encodeBundle(
    groups.map((g) => ({ aggregator: g.aggregator, signature: g.signature, ops: g.ops.map(bundledOp) })),
    beneficiary,
  )
}
