import { type Address, encodeFunctionData, type Hex, zeroAddress } from 'viem'
import type { EntryPointVersion } from '../chain/entrypoint.js'
import { entryPointAbi } from '../chain/entrypoint.js'
import { packUserOp, type UserOperation } from '../chain/userop.js'
import type { PoolOp } from '../pool/types.js'
import type { OpGroup } from './bundle.js'

/** The op as a bundle carries it: an aggregated op carries its aggregator's `sigForUserOp` (ERC-7766). */
export function bundledOp(c: PoolOp): UserOperation {
  const sig = c.aggregator ? c.validation.aggregator?.sigForUserOp : undefined
  return sig === undefined ? c.op : { ...c.op, signature: sig }
}

/** handleOps when no group has an aggregator, else handleAggregatedOps (plain ops under aggregator 0). */
export function encodeBundleCall(version: EntryPointVersion, groups: OpGroup[], beneficiary: Address): Hex {
  const abi = entryPointAbi(version)
  const aggregated = groups.some((g) => g.aggregator)
  if (!aggregated) {
    const ops = groups.flatMap((g) => g.ops.map((c) => packUserOp(bundledOp(c))))
    return encodeFunctionData({ abi, functionName: 'handleOps', args: [ops, beneficiary] })
  }
  const perAggregator = groups
    .filter((g) => g.ops.length > 0)
    .map((g) => ({
      userOps: g.ops.map((c) => packUserOp(bundledOp(c))),
      aggregator: g.aggregator ?? zeroAddress,
      signature: g.signature ?? '0x',
    }))
  return encodeFunctionData({ abi, functionName: 'handleAggregatedOps', args: [perAggregator, beneficiary] })
}
