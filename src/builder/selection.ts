import type { Address, Hex } from 'viem'
import type { Fees, RequiredOpFees } from '../chain/fee-math.js'
import { calldataCost, opMaxCost, opMaxGas, TX_INTRINSIC_GAS } from '../chain/gas.js'
import type { PoolOp } from '../pool/types.js'
import type { SkippedOp } from './bundle.js'

export interface CandidateLimits {
  required: RequiredOpFees
  maxBundleGas: bigint
  maxBundleSize: number
  /**
   * An op's maximum gas usage, summed against maxBundleGas: its EntryPoint's rule (the module's
   * gas.maxGas with the paymaster context validation returned); default the v0.7+ rule.
   */
  opGas?: (c: PoolOp) => bigint
  /** The chain's largest transaction (bytes) and each op's bytes in the bundle's calldata. */
  maxBundleBytes?: { limit: number; opBytes: (c: PoolOp) => number }
  /**
   * A cap on the bundle transaction's gas limit (BlockShare): the limit, what the transaction holds
   * without ops, and each op's share (its reserve and calldata). The first op always fits.
   */
  maxTxGas?: { limit: bigint; fixed: bigint; opTxGas: (c: PoolOp) => bigint }
}

/** handleOps' fixed calldata and the transaction envelope around it, with room to spare. */
const BUNDLE_FIXED_BYTES = 400

/** The v0.7+ rule: preVerificationGas plus every limit. */
const packedOpGas = (c: PoolOp) => opMaxGas(c.op)

/**
 * Chooses the bundle's candidates from the pool's best-first list (pure). One op per sender (its
 * lowest nonce: a later nonce cannot run before it); ops under the required fees are skipped with
 * all later ops of their sender; the first op that would cross the gas cap is skipped with every op
 * after it, as the seed says, and likewise at the block-share cap on the transaction's gas limit —
 * skipped ops stay in the pool.
 */
export function selectCandidates(
  candidates: PoolOp[],
  limits: CandidateLimits,
): { selected: PoolOp[]; skipped: SkippedOp[] } {
  const skipped: SkippedOp[] = []
  const lowestNonce = new Map<Address, bigint>()
  for (const c of candidates) {
    const seen = lowestNonce.get(c.op.sender)
    if (seen === undefined || c.op.nonce < seen) lowestNonce.set(c.op.sender, c.op.nonce)
  }

  const selected: PoolOp[] = []
  let gas = 0n
  let txGas = limits.maxTxGas?.fixed ?? 0n
  let bytes = BUNDLE_FIXED_BYTES
  let capped: 'gas_cap' | 'block_share' | undefined
  for (const c of candidates) {
    if (capped) {
      skipped.push({ hash: c.hash, reason: capped })
      continue
    }
    if (c.op.nonce !== lowestNonce.get(c.op.sender)) {
      skipped.push({ hash: c.hash, reason: 'sender_in_bundle' })
      continue
    }
    if (
      c.op.maxPriorityFeePerGas < limits.required.minPriorityFeePerGas ||
      c.op.maxFeePerGas < limits.required.minMaxFeePerGas
    ) {
      skipped.push({ hash: c.hash, reason: 'fee_too_low' })
      continue
    }
    if (selected.length >= limits.maxBundleSize) {
      skipped.push({ hash: c.hash, reason: 'bundle_size' })
      continue
    }
    const opGas = (limits.opGas ?? packedOpGas)(c)
    if (gas + opGas > limits.maxBundleGas) {
      capped = 'gas_cap'
      skipped.push({ hash: c.hash, reason: capped })
      continue
    }
    const opTxGas = limits.maxTxGas?.opTxGas(c) ?? 0n
    if (limits.maxTxGas && selected.length > 0 && txGas + opTxGas > limits.maxTxGas.limit) {
      capped = 'block_share'
      skipped.push({ hash: c.hash, reason: capped })
      continue
    }
    const size = limits.maxBundleBytes?.opBytes(c) ?? 0
    if (limits.maxBundleBytes && bytes + size > limits.maxBundleBytes.limit) {
      skipped.push({ hash: c.hash, reason: 'bundle_size' })
      continue
    }
    gas += opGas
    txGas += opTxGas
    bytes += size
    selected.push(c)
  }
  return { selected, skipped }
}

/** Accounts each paymaster's deposit across the bundle: an op its paymaster can no longer cover is dropped. */
export function applyPaymasterDeposits(
  ops: PoolOp[],
  deposits: ReadonlyMap<string, bigint>,
  /** The prefund the op's EntryPoint takes from the deposit (wei); default the v0.7+ rule. */
  prefund: (c: PoolOp) => bigint = (c) => opMaxCost(c.op),
): { kept: PoolOp[]; skipped: SkippedOp[] } {
  const remaining = new Map(deposits)
  const kept: PoolOp[] = []
  const skipped: SkippedOp[] = []
  for (const c of ops) {
    const pm = c.op.paymaster?.toLowerCase()
    if (!pm) {
      kept.push(c)
      continue
    }
    const left = remaining.get(pm) ?? 0n
    const cost = prefund(c)
    if (cost > left) {
      skipped.push({ hash: c.hash, reason: 'paymaster_deposit' })
      continue
    }
    remaining.set(pm, left - cost)
    kept.push(c)
  }
  return { kept, skipped }
}

/**
 * What the ops pay the beneficiary at most vs what the bundle costs the signer, both at their
 * maximum gas. The cost side is intrinsic and calldata gas plus the ops' own limits: the EntryPoint's
 * bookkeeping is what each op's preVerificationGas pays for, so it is not counted twice. `extraGas`
 * is what no op pays for (aggregators' validateSignatures); `l1Fee` is an L2's data fee, which the
 * ops pay through the L1 share in their preVerificationGas.
 */
export function bundleEconomics(
  ops: PoolOp[],
  calldata: Hex,
  fees: Fees,
  baseFee: bigint,
  extraGas = 0n,
  opGas: (c: PoolOp) => bigint = packedOpGas,
  /** On an L2: the bundle's L1 data fee (wei), paid beside or (Arbitrum) through the gas. */
  l1Fee = 0n,
): { revenue: bigint; cost: bigint } {
  let revenue = 0n
  let gas = TX_INTRINSIC_GAS + calldataCost(calldata).gas + extraGas
  for (const c of ops) {
    const price = min(c.op.maxFeePerGas, baseFee + c.op.maxPriorityFeePerGas)
    const max = opGas(c)
    revenue += max * price
    gas += max - c.op.preVerificationGas
  }
  return { revenue, cost: gas * min(fees.maxFeePerGas, baseFee + fees.maxPriorityFeePerGas) + l1Fee }
}

/** The most a bundle may cost: a share of the signer's balance (integer percent). */
export function balanceCap(balance: bigint, maxBalancePercent: number): bigint {
  return (balance * BigInt(maxBalancePercent)) / 100n
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b
}
