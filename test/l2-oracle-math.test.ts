import { type Hex, parseAbi, toHex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ARBITRUM_NODE_INTERFACE, NETWORKS, OP_GAS_PRICE_ORACLE } from '../src/chain/chain-spec.js'
import { arbitrumL1Gas, arbitrumPosterCost } from '../src/chain/da/arbitrum-math.js'
import { DaGas, feeToGas, sizeClass } from '../src/chain/da/da-gas.js'
import {
  ecotoneL1Fee,
  fjordL1Cost,
  fjordL1FeeUpperBound,
  fjordUpperBoundSize,
  type L1FeeParams,
} from '../src/chain/da/op-stack-math.js'
import {
  ArbitrumL1FeeOracle,
  incompressible,
  type L1FeeOracle,
  OpStackL1FeeOracle,
} from '../src/chain/da/oracle.js'
import { startTestChain, type TestChain } from './harness/chain.js'
import {
  enableFjord,
  installArbitrumNodeInterface,
  installOpStackOracle,
  setL1Values,
} from './support/l2-chain.js'

// Worked examples of the published formulas (OP stack specs: Ecotone and Fjord L1 cost; Arbitrum's
// gas estimation docs: poster cost and the NodeInterface's 10 % padding), by hand:
const ONE: L1FeeParams = {
  l1BaseFee: 10n ** 9n,
  blobBaseFee: 0n,
  baseFeeScalar: 1_000_000n,
  blobBaseFeeScalar: 0n,
}

describe('OP-stack L1 fee formulas', () => {
  it('Fjord: −42,585,600 + 836,500 · fastLzSize, never under 100e6, times the scaled price over 1e12', () => {
    // 200 bytes: 124,714,400 · (1e6 · 16 · 1e9) / 1e12 = 124,714,400 · 16,000
    expect(fjordL1Cost(200n, ONE)).toBe(1_995_430_400_000n)
    // 100 bytes regress to 41,064,400: the 100-byte minimum (100e6) applies
    expect(fjordL1Cost(100n, ONE)).toBe(1_600_000_000_000n)
    // the blob side: scalar 810,949 · blob fee 1 gwei over 1e12, at the minimum size
    expect(
      fjordL1Cost(1n, { ...ONE, baseFeeScalar: 0n, blobBaseFee: 10n ** 9n, blobBaseFeeScalar: 810_949n }),
    ).toBe(81_094_900_000n)
  })

  it('the upper bound adds the 68-byte signature and FastLZ worst case (size/255 + 16)', () => {
    expect(fjordUpperBoundSize(1000n)).toBe(1088n) // 1068 + 4 + 16
    expect(fjordL1FeeUpperBound(1000n, ONE)).toBe(fjordL1Cost(1088n, ONE))
  })

  it('Ecotone: (calldata gas + 68·16) · (16·scalar·l1BaseFee + blobScalar·blobFee) / 16e6', () => {
    // one zero byte (4) and one non-zero (16), plus 1,088: 1,108 · 16e15 / 16e6
    expect(ecotoneL1Fee('0x0001', ONE)).toBe(1_108_000_000_000n)
  })
})

describe('Arbitrum L1 component formula', () => {
  it('poster cost = L1 base fee · 16 · (compressed bytes + 140); gas = cost · 110 % / L2 base fee', () => {
    const i = { compressedBytes: 100n, l1BaseFeeEstimate: 30n * 10n ** 9n, l2BaseFee: 10n ** 7n }
    expect(arbitrumPosterCost(i)).toBe(115_200_000_000_000n) // 30e9 · 16 · 240
    expect(arbitrumL1Gas(i)).toBe(12_672_000n) // 1.152e14 · 1.1 / 1e7
    expect(() => arbitrumL1Gas({ ...i, l2BaseFee: 0n })).toThrow(RangeError)
  })
})

describe('size classes and conversion', () => {
  it('rounds sizes up to 128 bytes and fees up to whole gas', () => {
    expect([1, 128, 129, 900].map(sizeClass)).toEqual([128, 128, 256, 1024])
    expect(feeToGas(1001n, 10n)).toBe(101n)
    expect(feeToGas(5n, 0n)).toBe(5n) // a zero price counts as 1 wei
  })

  it('incompressible bytes are deterministic, of the size asked, and without runs', () => {
    const a = incompressible(300)
    expect(a).toBe(incompressible(300))
    expect((a.length - 2) / 2).toBe(300)
    expect(a).not.toMatch(/(00){4}|(ff){4}/)
  })

  it('one oracle read per block per size class, whatever the number of ops', async () => {
    let reads = 0
    const oracle: L1FeeOracle = {
      l1Fee: async (_to, bytes, block) => {
        reads++
        return BigInt(bytes) * 1000n + block
      },
    }
    const da = new DaGas(oracle, NETWORKS.base)
    const ep = '0x0000000071727De22E5E9d8BAf0edAc6f37da032' as const
    const op = {
      sender: '0x1111111111111111111111111111111111111111',
      nonce: 0n,
      callData: '0x' as Hex,
      callGasLimit: 1n,
      verificationGasLimit: 1n,
      preVerificationGas: 1n,
      maxFeePerGas: 1n,
      maxPriorityFeePerGas: 1n,
      signature: '0x' as Hex,
    } as const
    const ops = Array.from({ length: 20 }, (_, i) => ({ ...op, nonce: BigInt(i) }))
    await Promise.all(ops.map((o) => da.opShareFee(ep, o, 5n)))
    expect(reads).toBe(1)
    await da.opShareFee(ep, { ...op, callData: toHex(new Uint8Array(300).fill(1)) }, 5n)
    expect(reads).toBe(2) // a larger class
    await da.opShareFee(ep, op, 6n)
    expect(reads).toBe(3) // a new block
  })
})

describe('the oracles against contracts on anvil', () => {
  let chain: TestChain
  const base: L1FeeParams = {
    l1BaseFee: 7_000_000_000n,
    blobBaseFee: 3n,
    baseFeeScalar: 2269n,
    blobBaseFeeScalar: 1_055_762n,
  }
  beforeAll(async () => {
    chain = await startTestChain()
  }, 60_000)
  afterAll(async () => {
    await chain?.stop()
  })

  it('the real GasPriceOracle (Ecotone, then Fjord) computes what the formulas say', async () => {
    await installOpStackOracle(chain, base, false)
    const abi = parseAbi([
      'function getL1Fee(bytes) view returns (uint256)',
      'function getL1FeeUpperBound(uint256) view returns (uint256)',
    ])
    const data: Hex = `0x${'00'.repeat(40)}${'ab'.repeat(300)}`
    const ecotone = await chain.client.readContract({
      address: OP_GAS_PRICE_ORACLE,
      abi,
      functionName: 'getL1Fee',
      args: [data],
    })
    expect(ecotone).toBe(ecotoneL1Fee(data, base))
    // Before Fjord the upper bound is refused; the oracle falls back to getL1Fee of incompressible bytes.
    const oracle = new OpStackL1FeeOracle(chain.client, OP_GAS_PRICE_ORACLE)
    const head = await chain.client.getBlockNumber({ cacheTime: 0 })
    expect(await oracle.l1Fee(OP_GAS_PRICE_ORACLE, 500, head)).toBe(ecotoneL1Fee(incompressible(620), base))

    await enableFjord(chain)
    for (const n of [10n, 500n, 5000n]) {
      const got = await chain.client.readContract({
        address: OP_GAS_PRICE_ORACLE,
        abi,
        functionName: 'getL1FeeUpperBound',
        args: [n],
      })
      expect(got, `size ${n}`).toBe(fjordL1FeeUpperBound(n, base))
    }
    const fjordOracle = new OpStackL1FeeOracle(chain.client, OP_GAS_PRICE_ORACLE)
    const at = await chain.client.getBlockNumber({ cacheTime: 0 })
    expect(await fjordOracle.l1Fee(OP_GAS_PRICE_ORACLE, 500, at)).toBe(fjordL1FeeUpperBound(620n, base))
    // New L1 values through the real setter move the fee; the old block still answers the old fee.
    await setL1Values(chain, { ...base, l1BaseFee: base.l1BaseFee * 2n })
    const later = await chain.client.getBlockNumber({ cacheTime: 0 })
    expect(await fjordOracle.l1Fee(OP_GAS_PRICE_ORACLE, 500, later)).toBe(
      fjordL1FeeUpperBound(620n, { ...base, l1BaseFee: base.l1BaseFee * 2n }),
    )
    expect(await fjordOracle.l1Fee(OP_GAS_PRICE_ORACLE, 500, at)).toBe(fjordL1FeeUpperBound(620n, base))
  })

  it('the NodeInterface stand-in answers by the formula, and the oracle turns it into wei', async () => {
    const l1BaseFeeEstimate = 40n * 10n ** 9n
    await installArbitrumNodeInterface(chain, l1BaseFeeEstimate)
    const block = await chain.client.getBlock({ blockTag: 'latest' })
    const oracle = new ArbitrumL1FeeOracle(chain.client, ARBITRUM_NODE_INTERFACE)
    const fee = await oracle.l1Fee(OP_GAS_PRICE_ORACLE, 400, block.number)
    const gas = arbitrumL1Gas({
      compressedBytes: 400n,
      l1BaseFeeEstimate,
      l2BaseFee: block.baseFeePerGas as bigint,
    })
    expect(fee).toBe(gas * (block.baseFeePerGas as bigint))
    expect(gas).toBeGreaterThan(0n)
  })
})
