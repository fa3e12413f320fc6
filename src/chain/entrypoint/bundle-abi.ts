import { type Abi, type Address, decodeFunctionData, encodeFunctionData, type Hex, zeroAddress } from 'viem'
import type { UserOperation } from '../userop.js'
import type { AbiOpGroup } from './types.js'

/**
 * handleOps / handleAggregatedOps encoding and decoding for an EntryPoint ABI, given how its
 * version turns an op into the ABI struct and back: the same two entry points in every version.
 */
export function bundleCodec<S>(abi: Abi, toAbi: (op: UserOperation) => S, fromAbi: (s: S) => UserOperation) {
  return {
    /** handleOps when no group has an aggregator, else handleAggregatedOps (plain ops under aggregator 0). */
    encodeBundle(groups: readonly AbiOpGroup[], beneficiary: Address): Hex {
      if (!groups.some((g) => g.aggregator)) {
        const ops = groups.flatMap((g) => g.ops.map(toAbi))
        return encodeFunctionData({ abi, functionName: 'handleOps', args: [ops, beneficiary] })
      }
      const perAggregator = groups
        .filter((g) => g.ops.length > 0)
        .map((g) => ({
          userOps: g.ops.map(toAbi),
          aggregator: g.aggregator ?? zeroAddress,
          signature: g.signature ?? '0x',
        }))
      return encodeFunctionData({
        abi,
        functionName: 'handleAggregatedOps',
        args: [perAggregator, beneficiary],
      })
    },
    /** The ops of handleOps / handleAggregatedOps calldata; undefined for any other calldata. */
    decodeBundle(data: Hex): UserOperation[] | undefined {
      try {
        const call = decodeFunctionData({ abi, data })
        if (call.functionName === 'handleOps') return ((call.args?.[0] ?? []) as S[]).map(fromAbi)
        if (call.functionName === 'handleAggregatedOps')
          return ((call.args?.[0] ?? []) as { userOps: S[] }[]).flatMap((g) => g.userOps.map(fromAbi))
        return undefined
      } catch {
        return undefined
      }
    },
  }
}
