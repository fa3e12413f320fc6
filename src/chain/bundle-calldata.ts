import { decodeFunctionData, type Hex } from 'viem'
import { PACKED_USER_OP_COMPONENTS, type PackedUserOperation } from './userop.js'

/** handleOps and handleAggregatedOps, the same for v0.7 and v0.8. */
export const BUNDLE_ABI = [
  {
    type: 'function',
    name: 'handleOps',
    stateMutability: 'nonpayable',
    inputs: [
      { name: 'ops', type: 'tuple[]', components: PACKED_USER_OP_COMPONENTS },
      { name: 'beneficiary', type: 'address' },
    ],
    outputs: [],
  },
  {
    type: 'function',
    name: 'handleAggregatedOps',
    stateMutability: 'nonpayable',
    inputs: [
      {
        name: 'opsPerAggregator',
        type: 'tuple[]',
        components: [
          { name: 'userOps', type: 'tuple[]', components: PACKED_USER_OP_COMPONENTS },
          { name: 'aggregator', type: 'address' },
          { name: 'signature', type: 'bytes' },
        ],
      },
      { name: 'beneficiary', type: 'address' },
    ],
    outputs: [],
  },
] as const

/** The packed ops of a handleOps / handleAggregatedOps call, or undefined for any other calldata. */
export function opsInCalldata(data: Hex): PackedUserOperation[] | undefined {
  try {
    const call = decodeFunctionData({ abi: BUNDLE_ABI, data })
    if (call.functionName === 'handleOps') return [...call.args[0]]
    return call.args[0].flatMap((g) => [...g.userOps])
  } catch {
    return undefined
  }
}
