import type { Address } from 'viem'
import { nonceKey, nonceSeq, type PoolEntry } from './entry.js'
import { FeeIndex } from './fee-index.js'
import type { PoolOp } from './types.js'

/**
 * One EntryPoint's pooled ops and their indexes: by hash, by (sender, nonce), by referenced entity,
 * and by effective tip per shard. Storage only; the admission rules live in admission.ts and decide
 * what to insert and remove before anything is written.
 */
export class Mempool {
  readonly fees: FeeIndex<PoolEntry>
  private readonly byHash = new Map<string, PoolEntry>()
  private readonly bySender = new Map<string, Map<bigint, PoolEntry>>()
  /** Factory / paymaster / aggregator address → ops referencing it. */
  private readonly byEntity = new Map<string, Set<PoolEntry>>()

  constructor(
    readonly entryPoint: Address,
    numShards: number,
  ) {
    this.fees = new FeeIndex<PoolEntry>(numShards)
  }

  get size(): number {
    return this.byHash.size
  }

  get(hash: string): PoolEntry | undefined {
    return this.byHash.get(hash.toLowerCase())
  }

  at(sender: string, nonce: bigint): PoolEntry | undefined {
    return this.bySender.get(sender.toLowerCase())?.get(nonce)
  }

  senderCount(sender: string): number {
    return this.bySender.get(sender.toLowerCase())?.size ?? 0
  }

  /** Ops that reference `address` as factory, paymaster or aggregator. */
  entityCount(address: string): number {
    return this.byEntity.get(address.toLowerCase())?.size ?? 0
  }

  /** Ops that involve `address` in any role (sender included). */
  opsInvolving(address: string): PoolEntry[] {
    const k = address.toLowerCase()
    return [...(this.byEntity.get(k) ?? []), ...(this.bySender.get(k)?.values() ?? [])]
  }

  insert(e: PoolEntry): void {
    if (this.byHash.has(e.hashKey)) throw new Error(`op ${e.op.hash} is already pooled`)
    if (this.at(e.senderKey, e.nonce)) throw new Error(`${e.op.op.sender} nonce ${e.nonce} is already pooled`)
    this.byHash.set(e.hashKey, e)
    let nonces = this.bySender.get(e.senderKey)
    if (!nonces) {
      nonces = new Map()
      this.bySender.set(e.senderKey, nonces)
    }
    nonces.set(e.nonce, e)
    for (const ent of e.entities) {
      let set = this.byEntity.get(ent.key)
      if (!set) {
        set = new Set()
        this.byEntity.set(ent.key, set)
      }
      set.add(e)
    }
    this.fees.add(e)
  }

  remove(e: PoolEntry): boolean {
    if (this.byHash.get(e.hashKey) !== e) return false
    this.byHash.delete(e.hashKey)
    const nonces = this.bySender.get(e.senderKey)
    nonces?.delete(e.nonce)
    if (nonces?.size === 0) this.bySender.delete(e.senderKey)
    for (const ent of e.entities) {
      const set = this.byEntity.get(ent.key)
      set?.delete(e)
      if (set?.size === 0) this.byEntity.delete(ent.key)
    }
    this.fees.remove(e)
    return true
  }

  /**
   * A mined (sender, nonce) makes the pooled op at that nonce unusable, and so every op of the same
   * nonce key with a lower sequence (nonces of one key are used in order).
   */
  staleAfterMined(sender: string, nonce: bigint): PoolEntry[] {
    const nonces = this.bySender.get(sender.toLowerCase())
    if (!nonces) return []
    const key = nonceKey(nonce)
    const seq = nonceSeq(nonce)
    return [...nonces.values()].filter((e) => nonceKey(e.nonce) === key && nonceSeq(e.nonce) <= seq)
  }

  entries(): IterableIterator<PoolEntry> {
    return this.byHash.values()
  }

  /** All ops in arrival order. */
  dump(): PoolOp[] {
    return [...this.byHash.values()].sort((a, b) => a.seq - b.seq).map((e) => e.op)
  }

  clear(): void {
    this.byHash.clear()
    this.bySender.clear()
    this.byEntity.clear()
    this.fees.clear()
  }
}
