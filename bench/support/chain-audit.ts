import type { Address, Hex } from 'viem'
import { mapLimit } from '../../src/util/concurrency.js'
import type { TestChain } from '../../test/harness/chain.js'

interface RawReceipt {
  to: Address | null
  status: Hex
}

/**
 * Transactions to the EntryPoint that reverted on chain, over a run's blocks: a bundle the bundler
 * should never have sent (its validation loop checks each bundle with an eth_call first).
 */
export async function revertedBundles(
  chain: TestChain,
  entryPoint: Address,
  blocks: { from: bigint; to: bigint } | undefined,
): Promise<number> {
  if (!blocks) return 0
  const numbers: bigint[] = []
  for (let n = blocks.from; n <= blocks.to; n++) numbers.push(n)
  const counts = await mapLimit(numbers, 8, async (n) => {
    const receipts = (await chain.client.request({
      method: 'eth_getBlockReceipts' as never,
      params: [`0x${n.toString(16)}`] as never,
    })) as RawReceipt[] | null
    return (receipts ?? []).filter(
      (r) => r.to?.toLowerCase() === entryPoint.toLowerCase() && r.status === '0x0',
    ).length
  })
  return counts.reduce((a, b) => a + b, 0)
}
