import { type Address, type Hash, pad, toHex } from 'viem'
import { describe, expect, it } from 'vitest'
import { opsCoveringL1Fee } from '../src/builder/l1-fee.js'
import { bundleEconomics } from '../src/builder/selection.js'
import { NETWORKS } from '../src/chain/chain-spec.js'
import { DaGas } from '../src/chain/da/da-gas.js'
import type { L1FeeOracle } from '../src/chain/da/oracle.js'
import { entryPointOfVersion } from '../src/chain/entrypoint/registry.js'
import { requiredPreVerificationGas } from '../src/chain/gas.js'
import type { UserOperation } from '../src/chain/userop.js'
import type { PoolOp } from '../src/pool/types.js'
import type { ValidationResult } from '../src/sim/types.js'

// Pure logic of the bundle-time L1 fee, with an oracle whose fee is a plain function of size.
const ep = entryPointOfVersion('v0.7')
const addr = (n: number): Address => pad(toHex(n), { size: 20 })

function poolOp(n: number, fields: Partial<UserOperation> = {}): PoolOp {
  const op: UserOperation = {
    sender: addr(n),
    nonce: 0n,
    callData: '0x',
    callGasLimit: 100_000n,
    verificationGasLimit: 100_000n,
    preVerificationGas: 0n,
    maxFeePerGas: 20n,
    maxPriorityFeePerGas: 2n,
    signature: '0x',
    ...fields,
  }
  return {
    hash: pad(toHex(n), { size: 32 }) as Hash,
    entryPoint: ep.address,
    op,
    seq: n,
    validation: {} as ValidationResult,
  }
}

const perByte = (weiPerByte: bigint): L1FeeOracle => ({
  l1Fee: async (_to, bytes) => BigInt(bytes) * weiPerByte,
})

describe('bundle-time L1 fee', () => {
  it('ops whose PVG no longer covers their L1 share are skipped (they stay pooled), the rest kept', async () => {
    const da = new DaGas(perByte(1_000n), NETWORKS.base)
    const base = poolOp(1)
    const standard = requiredPreVerificationGas(base.op, NETWORKS.base, ep.encodedOpForCalldata)
    const share = await da.opDaGas(ep.address, base.op, 1n, 12n, ep.encodedOpForCalldata) // price min(20, 10 + 2)
    expect(share).toBeGreaterThan(0n)
    const covered = poolOp(2, { preVerificationGas: standard + share })
    const short = poolOp(3, { preVerificationGas: standard + share - 1n })
    const r = await opsCoveringL1Fee(da, ep, [covered, short], 1n, 10n)
    expect(r.kept.map((c) => c.hash)).toEqual([covered.hash])
    expect(r.skipped).toEqual([{ hash: short.hash, reason: 'l1_fee_not_covered' }])
    // A higher base fee raises the op's price (up to its maxFee): the same fee is fewer gas.
    const later = await opsCoveringL1Fee(da, ep, [short], 2n, 18n)
    expect(later.kept).toHaveLength(1)
  })

  it('the bundle L1 fee is part of its cost: ops that pay the L2 gas but not the L1 fee are unprofitable', () => {
    const c = poolOp(1, { preVerificationGas: 60_000n })
    const fees = { maxFeePerGas: 20n, maxPriorityFeePerGas: 2n }
    const l2 = bundleEconomics([c], '0x', fees, 10n)
    expect(l2.revenue).toBeGreaterThanOrEqual(l2.cost)
    const margin = l2.revenue - l2.cost
    const withL1 = bundleEconomics([c], '0x', fees, 10n, 0n, undefined, margin + 1n)
    expect(withL1.cost).toBe(l2.cost + margin + 1n)
    expect(withL1.revenue).toBeLessThan(withL1.cost)
  })
})

describe('the chain’s largest transaction', () => {
  it('an op that would take the bundle over max_transaction_size_bytes is skipped, smaller ones after it still fit', async () => {
    const { selectCandidates } = await import('../src/builder/selection.js')
    const ops = [poolOp(11), poolOp(12), poolOp(13)]
    const bytes = new Map([
      [ops[0]?.hash, 500],
      [ops[1]?.hash, 700],
      [ops[2]?.hash, 100],
    ])
    const r = selectCandidates(ops, {
      required: { minPriorityFeePerGas: 0n, minMaxFeePerGas: 0n },
      maxBundleGas: 10n ** 9n,
      maxBundleSize: 10,
      maxBundleBytes: { limit: 1_100, opBytes: (c) => bytes.get(c.hash) ?? 0 },
    })
    expect(r.selected.map((c) => c.hash)).toEqual([ops[0]?.hash, ops[2]?.hash])
    expect(r.skipped).toEqual([{ hash: ops[1]?.hash, reason: 'bundle_size' }])
  })
})
