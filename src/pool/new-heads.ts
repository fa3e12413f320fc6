import type { Address } from 'viem'
import type { AddressUpdate, NewHead } from './types.js'

interface Subscriber {
  addresses: Address[]
  queue: NewHead[]
  waiting?: (r: IteratorResult<NewHead>) => void
  closed: boolean
}

/**
 * Fans new heads out to subscribers. Each subscriber has its own unbounded queue, so a slow reader
 * delays only itself and never misses a block; ending the iteration (break / return) unsubscribes.
 */
export class NewHeadHub {
  private readonly subs = new Set<Subscriber>()

  get subscriberCount(): number {
    return this.subs.size
  }

  /** Every address some subscriber tracks (lowercase, deduplicated). */
  trackedAddresses(): Address[] {
    const all = new Set<string>()
    for (const s of this.subs) for (const a of s.addresses) all.add(a.toLowerCase())
    return [...all] as Address[]
  }

  subscribe(addresses: Address[]): AsyncIterableIterator<NewHead> {
    const sub: Subscriber = { addresses: [...addresses], queue: [], closed: false }
    this.subs.add(sub)
    const end = (): IteratorResult<NewHead> => {
      sub.closed = true
      sub.queue.length = 0
      this.subs.delete(sub)
      const waiting = sub.waiting
      sub.waiting = undefined
      waiting?.({ done: true, value: undefined })
      return { done: true, value: undefined }
    }
    const it: AsyncIterableIterator<NewHead> = {
      [Symbol.asyncIterator]: () => it,
      next: () => {
        const head = sub.queue.shift()
        if (head) return Promise.resolve({ done: false, value: head })
        if (sub.closed) return Promise.resolve({ done: true, value: undefined })
        return new Promise((resolve) => {
          sub.waiting = resolve
        })
      },
      return: () => Promise.resolve(end()),
    }
    return it
  }

  /** Delivers one block to every subscriber, each with updates for exactly the addresses it tracks. */
  publish(
    block: { blockNumber: bigint; blockHash: `0x${string}` },
    updates: Map<string, AddressUpdate>,
  ): void {
    for (const sub of this.subs) {
      // A subscriber whose addresses were not read for this block subscribed while the block was
      // being fetched: its first block is the next one.
      if (!sub.addresses.every((a) => updates.has(a.toLowerCase()))) continue
      const head: NewHead = {
        blockNumber: block.blockNumber,
        blockHash: block.blockHash,
        addressUpdates: sub.addresses.map((a) => {
          const u = updates.get(a.toLowerCase()) as AddressUpdate
          return { ...u, address: a, minedTxHashes: [...u.minedTxHashes] }
        }),
      }
      const waiting = sub.waiting
      if (waiting) {
        sub.waiting = undefined
        waiting({ done: false, value: head })
      } else {
        sub.queue.push(head)
      }
    }
  }

  /** Ends every subscription (pending reads resolve as done). */
  close(): void {
    for (const sub of this.subs) {
      sub.closed = true
      const waiting = sub.waiting
      sub.waiting = undefined
      waiting?.({ done: true, value: undefined })
    }
    this.subs.clear()
  }
}
