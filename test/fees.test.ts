import { createPublicClient, type Hex, http, type PublicClient, parseGwei } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chainSpecFor } from '../src/chain/chain-spec.js'
import { FeeEstimator, historyTip } from '../src/chain/fees.js'
import { type AnvilNode, startAnvil } from '../src/dev/anvil.js'

const DEV_KEY: Hex = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80'
const gwei = (n: number) => parseGwei(String(n))

describe('historyTip (pure)', () => {
  it('takes the upper median over non-empty blocks', () => {
    expect(historyTip({ gasUsedRatio: [0.5, 0, 0.1, 0.2], reward: [[30n], [0n], [10n], [20n]] })).toBe(20n)
    expect(historyTip({ gasUsedRatio: [0.5, 0.1], reward: [[30n], [10n]] })).toBe(30n)
    expect(historyTip({ gasUsedRatio: [0, 0], reward: [[0n], [0n]] })).toBe(0n)
    expect(historyTip({ gasUsedRatio: [0.3] })).toBe(0n)
  })
})

describe('FeeEstimator against anvil', () => {
  let node: AnvilNode
  let client: PublicClient
  const spec = chainSpecFor(31337)
  const account = privateKeyToAccount(DEV_KEY)
  let nonce = 0

  beforeAll(async () => {
    node = await startAnvil({ noMining: true })
    client = createPublicClient({ transport: http(node.url, { retryCount: 0 }) })
  })
  afterAll(async () => {
    await node?.stop()
  })

  const rpc = (method: string, params: unknown[] = []) => client.request({ method, params } as never)
  const mine = () => rpc('evm_mine')

  /** One block holding one 21,000-gas transfer per tip. */
  async function mineBlockWithTips(tips: bigint[]): Promise<void> {
    for (const tip of tips) {
      const raw = await account.signTransaction({
        chainId: node.chainId,
        type: 'eip1559',
        to: account.address,
        gas: 21_000n,
        maxFeePerGas: gwei(1000),
        maxPriorityFeePerGas: tip,
        nonce: nonce++,
      })
      await rpc('eth_sendRawTransaction', [raw])
    }
    await mine()
    const block = await client.getBlock({ blockTag: 'latest' })
    expect(block.transactions.length).toBe(tips.length)
  }

  it('reports the next base fee that anvil_setNextBlockBaseFeePerGas sets, at the latest block', async () => {
    const fees = new FeeEstimator({ client, chainSpec: spec })
    await mine()
    await rpc('anvil_setNextBlockBaseFeePerGas', [`0x${gwei(7).toString(16)}`])
    expect(await fees.nextBaseFee()).toBe(gwei(7))
    const est = await fees.estimate()
    expect(est.baseFee).toBe(gwei(7))
    expect(est.blockNumber).toBe(await client.getBlockNumber({ cacheTime: 0 }))

    await rpc('anvil_setNextBlockBaseFeePerGas', [`0x${(123_456_789n).toString(16)}`])
    expect(await fees.nextBaseFee()).toBe(123_456_789n)
    await mine()
    const after = await fees.estimate()
    expect(after.blockNumber).toBe(est.blockNumber + 1n)
    // The mined block really had that base fee.
    expect((await client.getBlock({ blockTag: 'latest' })).baseFeePerGas).toBe(123_456_789n)
  })

  it("node source: eth_maxPriorityFeePerGas, raised to the configured or chain spec's floor", async () => {
    const nodeTip = BigInt(await client.request({ method: 'eth_maxPriorityFeePerGas' }))
    expect(nodeTip).toBeGreaterThan(0n)
    const plain = new FeeEstimator({ client, chainSpec: { ...spec, minPriorityFeePerGas: 0n } })
    expect((await plain.estimate()).priorityFee).toBe(nodeTip)

    const floored = new FeeEstimator({ client, chainSpec: spec, minPriorityFeePerGas: nodeTip * 5n })
    expect((await floored.estimate()).priorityFee).toBe(nodeTip * 5n)

    const specFloor = new FeeEstimator({ client, chainSpec: { ...spec, minPriorityFeePerGas: nodeTip + 1n } })
    expect((await specFloor.estimate()).priorityFee).toBe(nodeTip + 1n)
  })

  it('chains that ignore tips (priority fee oracle none) default to the floor alone', async () => {
    const fees = new FeeEstimator({
      client,
      chainSpec: { ...spec, priorityFeeOracle: 'none', minPriorityFeePerGas: 42n },
    })
    expect(fees.source).toEqual({ kind: 'floor' })
    expect((await fees.estimate()).priorityFee).toBe(42n)
  })

  it('fee history source: percentiles of real tips, median over non-empty blocks, floor applies', async () => {
    await mine() // whatever base fee was set before is spent
    await mineBlockWithTips([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(gwei))
    const oneBlock = (percentile: number, floor = 0n) =>
      new FeeEstimator({
        client,
        chainSpec: spec,
        source: { kind: 'fee_history', percentile, blockCount: 1 },
        minPriorityFeePerGas: floor,
      }).estimate()
    // Ten equal-gas transactions: the p-th percentile by gas is the ceil(p/10)-th smallest tip.
    expect((await oneBlock(10)).priorityFee).toBe(gwei(1))
    expect((await oneBlock(50)).priorityFee).toBe(gwei(5))
    expect((await oneBlock(90)).priorityFee).toBe(gwei(9))
    expect((await oneBlock(50, gwei(6))).priorityFee).toBe(gwei(6))

    await mine() // empty blocks do not drag the estimate to zero
    await mineBlockWithTips([gwei(20), gwei(20)])
    await mine()
    await mineBlockWithTips([gwei(3)])
    const tenBlocks = new FeeEstimator({
      client,
      chainSpec: spec,
      source: { kind: 'fee_history', percentile: 50, blockCount: 10 },
      minPriorityFeePerGas: 0n,
    })
    const est = await tenBlocks.estimate()
    // Non-empty blocks' medians: 5, 20, 3 gwei -> median 5 gwei.
    expect(est.priorityFee).toBe(gwei(5))
    expect(est.blockNumber).toBe(await client.getBlockNumber({ cacheTime: 0 }))
    expect(est.baseFee).toBe(
      (await client.getFeeHistory({ blockCount: 1, rewardPercentiles: [] })).baseFeePerGas[1],
    )
  })

  it('rejects nonsense configuration', () => {
    const bad = (source: { kind: 'fee_history'; percentile: number; blockCount?: number }) => () =>
      new FeeEstimator({ client, chainSpec: spec, source })
    expect(bad({ kind: 'fee_history', percentile: 101 })).toThrow(RangeError)
    expect(bad({ kind: 'fee_history', percentile: Number.NaN })).toThrow(RangeError)
    expect(bad({ kind: 'fee_history', percentile: 50, blockCount: 0 })).toThrow(RangeError)
    expect(() => new FeeEstimator({ client, chainSpec: spec, minPriorityFeePerGas: -1n })).toThrow(RangeError)
  })
})
