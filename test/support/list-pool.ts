import type { Address, Hash } from 'viem'
import type { EntityUpdate, GetOpsQuery, NewHead, Pool, PoolOp } from '../../src/pool/types.js'

/** The proposer's view of a pool: getOps in the given order; removals and penalties are recorded. */
export class ListPool implements Pool {
  removed: Hash[] = []
  updates: EntityUpdate[] = []
  constructor(public ops: PoolOp[]) {}
  async addOp(): Promise<Hash> {
    throw new Error('not used')
  }
  async getOps(_q: GetOpsQuery): Promise<PoolOp[]> {
    return this.ops
  }
  async removeOps(_ep: Address, hashes: Hash[]): Promise<void> {
    this.removed.push(...hashes)
    this.ops = this.ops.filter((o) => !hashes.includes(o.hash))
  }
  async updateEntities(_ep: Address, updates: EntityUpdate[]): Promise<void> {
    this.updates.push(...updates)
  }
  subscribeNewHeads(): AsyncIterable<NewHead> {
    throw new Error('not used')
  }
}
