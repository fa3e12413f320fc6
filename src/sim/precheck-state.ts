import type { Address, Block, Hex, PublicClient } from 'viem'
import { factoryEntity } from '../chain/eip7702.js'
import type { UserOperation } from '../chain/userop.js'
import type { HeadReads } from './head-reads.js'
import type { PrecheckState } from './precheck.js'
import type { ChainReads } from './types.js'

/**
 * Reads at one block shared by many simulations: the proposer makes one per bundle, so the block
 * and each contract's code are fetched once for all its re-simulations. Short-lived on purpose: a
 * node can change state under a block number (reorgs, dev-chain cheat codes).
 */
export class BlockReads implements ChainReads {
  private readonly blocks = new Map<bigint, Promise<Block>>()
  private readonly codes = new Map<string, Promise<Hex>>()

  /** `shared`: blocks read by number across many BlockReads (the admissions' HeadReads). */
  constructor(
    private readonly client: PublicClient,
    private readonly shared?: Pick<HeadReads, 'block'>,
  ) {}

  block(blockNumber: bigint): Promise<Block> {
    if (this.shared) return this.shared.block(blockNumber)
    let b = this.blocks.get(blockNumber)
    if (!b) {
      b = this.client.getBlock({ blockNumber })
      this.remember(this.blocks, blockNumber, b)
    }
    return b
  }

  code(address: Address, blockNumber: bigint): Promise<Hex> {
    const key = `${blockNumber}:${address.toLowerCase()}`
    let c = this.codes.get(key)
    if (!c) {
      c = this.client.getCode({ address, blockNumber }).then((x) => x ?? '0x')
      this.remember(this.codes, key, c)
    }
    return c
  }

  /** A failed read is not cached: the next caller asks the node again. */
  private remember<K, V>(map: Map<K, Promise<V>>, key: K, value: Promise<V>): void {
    map.set(key, value)
    value.catch(() => map.delete(key))
  }
}

/** The chain reads the prechecks need, all at one block, in parallel. */
export async function readPrecheckState(
  reads: ChainReads,
  op: UserOperation,
  blockNumber: bigint,
): Promise<PrecheckState & { blockHash: Hex; timestamp: bigint }> {
  const factory = factoryEntity(op)
  const [block, senderCode, factoryCode, paymasterCode] = await Promise.all([
    reads.block(blockNumber),
    reads.code(op.sender, blockNumber),
    factory ? reads.code(factory, blockNumber) : undefined,
    op.paymaster ? reads.code(op.paymaster, blockNumber) : undefined,
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
