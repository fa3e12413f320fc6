import { type Address, encodeFunctionData, type Hex, zeroAddress } from 'viem'
import type { EntryPointVersion } from '../chain/entrypoint.js'
import { entryPointAbi, entryPointArtifact } from '../chain/entrypoint.js'
import { packUserOp } from '../chain/userop.js'
import type { OpGroup } from './bundle.js'

/** handleOps when no group has an aggregator, else handleAggregatedOps (plain ops under aggregator 0). */
export function encodeBundleCall(version: EntryPointVersion, groups: OpGroup[], beneficiary: Address): Hex {
  const abi = entryPointAbi(version)
  const aggregated = groups.some((g) => g.aggregator)
  if (!aggregated) {
    const ops = groups.flatMap((g) => g.ops.map((c) => packUserOp(c.op)))
    return encodeFunctionData({ abi, functionName: 'handleOps', args: [ops, beneficiary] })
  }
  const perAggregator = groups
    .filter((g) => g.ops.length > 0)
    .map((g) => ({
      userOps: g.ops.map((c) => packUserOp(c.op)),
      aggregator: g.aggregator ?? zeroAddress,
      signature: g.signature ?? '0x',
    }))
  return encodeFunctionData({ abi, functionName: 'handleAggregatedOps', args: [perAggregator, beneficiary] })
}

export function aggregatorAbi(version: EntryPointVersion) {
  return entryPointArtifact(version, 'IAggregator').abi
}
