import type { LocalPool } from '../../src/pool/pool.js'
import type { NewHead, Pool } from '../../src/pool/types.js'

/** Holds back the sender's heads above a block number; the pool itself keeps following the chain. */
export class HeadGate {
  private limit?: bigint
  private waiters: (() => void)[] = []
  /** The last head handed to the sender. */
  delivered = -1n

  /** Heads after `block` wait; undefined lets everything through. */
  setLimit(block: bigint | undefined): void {
    this.limit = block
    for (const w of this.waiters.splice(0)) w()
  }

  async pass(head: NewHead): Promise<void> {
    while (this.limit !== undefined && head.blockNumber > this.limit) {
      await new Promise<void>((r) => this.waiters.push(r))
    }
    this.delivered = head.blockNumber
  }

  gated(pool: LocalPool): Pick<Pool, 'addOp' | 'removeOps' | 'subscribeNewHeads'> {
    return {
      addOp: (ep, op) => pool.addOp(ep, op),
      removeOps: (ep, hashes) => pool.removeOps(ep, hashes),
      subscribeNewHeads: (addresses) => {
        const inner = pool.subscribeNewHeads(addresses)[Symbol.asyncIterator]()
        const it: AsyncIterableIterator<NewHead> = {
          [Symbol.asyncIterator]: () => it,
          next: async () => {
            const r = await inner.next()
            if (!r.done) await this.pass(r.value)
            return r
          },
          return: async () => {
            await inner.return?.()
            return { done: true, value: undefined }
          },
        }
        return it
      },
    }
  }
}
