import type { Hex, PublicClient } from 'viem'
import type { UserOperation } from '../chain/userop.js'
import type { PrecheckState } from './precheck.js'

/** The chain reads the prechecks need, all at one block, in parallel. */
export async function readPrecheckState(
  client: PublicClient,
  op: UserOperation,
  blockNumber: bigint,
): Promise<PrecheckState & { blockHash: Hex; timestamp: bigint }> {
  const code = (address: Hex) => client.getCode({ address, blockNumber }).then((c) => c ?? '0x')
  const [block, senderCode, factoryCode, paymasterCode] = await Promise.all([
    client.getBlock({ blockNumber }),
    code(op.sender),
    op.factory ? code(op.factory) : undefined,
    op.paymaster ? code(op.paymaster) : undefined,
  ])
  if (block.hash === null) throw new Error(`block ${blockNumber} has no hash (pending?)`)
  return {
    senderCode,
    factoryCode,
    paymasterCode,
    baseFee: block.baseFeePerGas ?? 0n,
    blockGasLimit: block.gasLimit,
    blockHash: block.hash,
    timestamp: block.timestamp,
  }
}
