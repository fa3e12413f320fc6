import { type Address, type Hash, pad, toHex } from 'viem'
import { describe, expect, it } from 'vitest'
import {
  applyPaymasterDeposits,
  balanceCap,
  bundleEconomics,
  selectCandidates,
} from '../src/builder/selection.js'
import { bundleFees, requiredOpFees } from '../src/chain/fee-math.js'
import { opMaxGas } from '../src/chain/gas.js'
import type { UserOperation } from '../src/chain/userop.js'
import type { PoolOp } from '../src/pool/types.js'
import type { ValidationResult } from '../src/sim/types.js'

const addr = (n: number): Address => pad(toHex(n), { size: 20 })
let seq = 0

function poolOp(
  sender: number,
  fields: Partial<UserOperation> = {},
  storage: Record<Address, Record<`0x${string}`, `0x${string}`>> = {},
): PoolOp {
  const op: UserOperation = {
    sender: addr(sender),
    nonce: 0n,
    callData: '0x',
    callGasLimit: 100_000n,
    verificationGasLimit: 100_000n,
    preVerificationGas: 50_000n,
    maxFeePerGas: 20n,
    maxPriorityFeePerGas: 2n,
    signature: '0x',
    ...fields,
  }
  const validation = {
    sender: { address: op.sender, stake: 0n, unstakeDelaySec: 0n, isStaked: false },
    accessedStorage: storage,
    codeHashes: {},
  } as unknown as ValidationResult
  seq++
  return { hash: pad(toHex(seq), { size: 32 }) as Hash, entryPoint: addr(0xe0), op, seq, validation }
}

const required = { minPriorityFeePerGas: 2n, minMaxFeePerGas: 12n }

describe('candidate selection', () => {
  it('skips ops below the required fees and keeps the rest in order', () => {
    const a = poolOp(1, { maxPriorityFeePerGas: 3n })
    const b = poolOp(2, { maxPriorityFeePerGas: 1n })
    const c = poolOp(3, { maxFeePerGas: 11n })
    const d = poolOp(4)
    const r = selectCandidates([a, b, c, d], { required, maxBundleGas: 10_000_000n, maxBundleSize: 128 })
    expect(r.selected).toEqual([a, d])
    expect(r.skipped).toEqual([
      { hash: b.hash, reason: 'fee_too_low' },
      { hash: c.hash, reason: 'fee_too_low' },
    ])
  })

  it('stops at the op that would cross the gas cap: it and all after it are skipped', () => {
    const ops = [poolOp(1), poolOp(2), poolOp(3), poolOp(4)]
    const each = opMaxGas(ops[0]!.op)
    // Room for two ops and a bit: the third crosses; the fourth would fit alone but follows it.
    const small = poolOp(5, { callGasLimit: 1n, verificationGasLimit: 1n, preVerificationGas: 1n })
    const r = selectCandidates([...ops.slice(0, 3), small], {
      required,
      maxBundleGas: each * 2n + 10n,
      maxBundleSize: 128,
    })
    expect(r.selected.map((c) => c.hash)).toEqual([ops[0]!.hash, ops[1]!.hash])
    expect(r.skipped).toEqual([
      { hash: ops[2]!.hash, reason: 'gas_cap' },
      { hash: small.hash, reason: 'gas_cap' },
    ])
  })

  it('stops at the block-share cap on the transaction gas limit; the first op always goes', () => {
    const ops = [poolOp(1), poolOp(2), poolOp(3)]
    const share = (limit: bigint) => ({ limit, fixed: 30_000n, opTxGas: () => 100_000n })
    const r = selectCandidates(ops, {
      required,
      maxBundleGas: 10_000_000n,
      maxBundleSize: 128,
      maxTxGas: share(250_000n),
    })
    expect(r.selected).toEqual([ops[0], ops[1]])
    expect(r.skipped).toEqual([{ hash: ops[2]!.hash, reason: 'block_share' }])
    // A share smaller than one op still lets one op through: a bundler that caps itself to nothing stalls.
    const one = selectCandidates(ops, {
      required,
      maxBundleGas: 10_000_000n,
      maxBundleSize: 128,
      maxTxGas: share(1n),
    })
    expect(one.selected).toEqual([ops[0]])
    expect(one.skipped.map((s) => s.reason)).toEqual(['block_share', 'block_share'])
  })

  it('takes one op per sender, its lowest nonce, even when a later nonce pays more', () => {
    const later = poolOp(7, { nonce: 1n, maxPriorityFeePerGas: 9n, maxFeePerGas: 30n })
    const first = poolOp(7, { nonce: 0n })
    const r = selectCandidates([later, first], { required, maxBundleGas: 10_000_000n, maxBundleSize: 128 })
    expect(r.selected).toEqual([first])
    expect(r.skipped).toEqual([{ hash: later.hash, reason: 'sender_in_bundle' }])
  })

  it('honours max_bundle_size', () => {
    const ops = [poolOp(1), poolOp(2), poolOp(3)]
    const r = selectCandidates(ops, { required, maxBundleGas: 10_000_000n, maxBundleSize: 2 })
    expect(r.selected).toHaveLength(2)
    expect(r.skipped).toEqual([{ hash: ops[2]!.hash, reason: 'bundle_size' }])
  })

  it('accounts a paymaster deposit across the bundle', () => {
    const pm = addr(0x99)
    const fields = { paymaster: pm, paymasterVerificationGasLimit: 50_000n, paymasterPostOpGasLimit: 0n }
    const a = poolOp(1, fields)
    const b = poolOp(2, fields)
    const cost = opMaxGas(a.op) * a.op.maxFeePerGas
    const r = applyPaymasterDeposits([a, b], new Map([[pm.toLowerCase(), cost + cost / 2n]]))
    expect(r.kept).toEqual([a])
    expect(r.skipped).toEqual([{ hash: b.hash, reason: 'paymaster_deposit' }])
  })

  it('computes revenue from what ops pay and cost from what the bundle pays', () => {
    const a = poolOp(1, { maxFeePerGas: 30n, maxPriorityFeePerGas: 5n })
    // base fee 10: op pays min(30, 10+5) = 15 per gas; bundle pays min(25, 10+2) = 12 per gas for
    // intrinsic + calldata (0x0100: one zero byte, one non-zero) + the op's limits less its PVG.
    const e = bundleEconomics([a], '0x0100', { maxFeePerGas: 25n, maxPriorityFeePerGas: 2n }, 10n)
    expect(e.revenue).toBe(opMaxGas(a.op) * 15n)
    expect(e.cost).toBe((21_000n + 4n + 16n + 200_000n) * 12n)
    expect(balanceCap(1000n, 90)).toBe(900n)
  })

  it('feeds exact bundle fees into the required op fees (both modes)', () => {
    const fees = bundleFees({
      baseFee: 100n,
      priorityFee: 10n,
      baseFeeOverheadPercent: 27,
      priorityFeeOverheadPercent: 0,
    })
    expect(fees).toEqual({ maxFeePerGas: 137n, maxPriorityFeePerGas: 10n })
    expect(requiredOpFees({ kind: 'priority_fee_increase_percent', value: 10 }, fees, 100n)).toEqual({
      minPriorityFeePerGas: 11n,
      minMaxFeePerGas: 111n,
    })
    expect(requiredOpFees({ kind: 'base_fee_percent', value: 15 }, fees, 101n)).toEqual({
      minPriorityFeePerGas: 16n,
      minMaxFeePerGas: 117n,
    })
  })
})
