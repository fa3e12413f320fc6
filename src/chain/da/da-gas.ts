import { type Address, size } from 'viem'
import type { ChainSpec } from '../chain-spec.js'
import { pvgEncoding } from '../gas.js'
import type { UserOperation } from '../userop.js'
import type { L1FeeOracle } from './oracle.js'

/** handleOps([op], beneficiary) around one op: selector, two head words, the array's length and offset. */
export const HANDLE_OPS_FIXED_BYTES = 4 + 32 * 4
/** Sizes are rounded up to a multiple of this: one oracle read per block per class, not per op. */
export const SIZE_CLASS_BYTES = 128
/** Blocks whose oracle reads are kept (the head and the one before, for reads racing a new head). */
const KEPT_BLOCKS = 2n

export function sizeClass(bytes: number): number {
  return Math.ceil(bytes / SIZE_CLASS_BYTES) * SIZE_CLASS_BYTES
}

const ceilDiv = (a: bigint, b: bigint) => (a + b - 1n) / b

/** The L2 gas that pays `feeWei` at `gasPrice` (at least 1 wei per gas). */
export function feeToGas(feeWei: bigint, gasPrice: bigint): bigint {
  return ceilDiv(feeWei, gasPrice > 0n ? gasPrice : 1n)
}

/**
 * The L1 data fee of an L2, in the terms the pool and the builder need, with the oracle's answers
 * cached per block and size class:
 * - an op's share: the fee of a bundle holding only this op (its handleOps encoding, PVG field and
 *   signatures at their worst, the bundle's fixed bytes and the transaction envelope), its size
 *   rounded up to the class. A lone op therefore pays for the bundle it may end up alone in;
 * - a bundle's fee: the fee of its exact calldata size.
 */
export class DaGas {
  private readonly cache = new Map<string, Promise<bigint>>()
  private newest = 0n

  constructor(
    private readonly oracle: L1FeeOracle,
    readonly spec: ChainSpec,
  ) {}

  /** The op's share of the L1 fee in wei at a block. */
  opShareFee(
    entryPoint: Address,
    op: UserOperation,
    blockNumber: bigint,
    encode?: (op: UserOperation) => `0x${string}`,
  ): Promise<bigint> {
    const bytes = size(pvgEncoding(op, encode)) + HANDLE_OPS_FIXED_BYTES
    return this.fee(entryPoint, sizeClass(bytes), blockNumber)
  }

  /** The op's share as L2 gas at its gas price: what its preVerificationGas must add. */
  async opDaGas(
    entryPoint: Address,
    op: UserOperation,
    blockNumber: bigint,
    gasPrice: bigint,
    encode?: (op: UserOperation) => `0x${string}`,
  ): Promise<bigint> {
    return feeToGas(await this.opShareFee(entryPoint, op, blockNumber, encode), gasPrice)
  }

  /** The L1 fee of a bundle transaction with `calldataBytes` of calldata. */
  bundleFee(entryPoint: Address, calldataBytes: number, blockNumber: bigint): Promise<bigint> {
    return this.fee(entryPoint, calldataBytes, blockNumber)
  }

  private fee(to: Address, bytes: number, blockNumber: bigint): Promise<bigint> {
    const key = `${blockNumber}:${to.toLowerCase()}:${bytes}`
    let hit = this.cache.get(key)
    if (!hit) {
      hit = this.oracle.l1Fee(to, bytes, blockNumber)
      this.cache.set(key, hit)
      hit.catch(() => this.cache.delete(key))
      if (blockNumber > this.newest) {
        this.newest = blockNumber
        for (const k of this.cache.keys())
          if (BigInt(k.slice(0, k.indexOf(':'))) + KEPT_BLOCKS <= this.newest) this.cache.delete(k)
      }
    }
    return hit
  }
}

/** The gas price an op pays at a base fee: min(maxFee, baseFee + tip). */
export function opGasPrice(
  op: Pick<UserOperation, 'maxFeePerGas' | 'maxPriorityFeePerGas'>,
  baseFee: bigint,
): bigint {
  const withTip = baseFee + op.maxPriorityFeePerGas
  if (op.maxFeePerGas < withTip) return op.maxFeePerGas
  return withTip
}
