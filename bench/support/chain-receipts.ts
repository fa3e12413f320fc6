import type { Address, Hash, PublicClient } from 'viem'
import { USER_OPERATION_EVENT } from '../../src/rpc/bundle-decode.js'
import type { OpReceiptSeen } from '../../test/support/bundler-load.js'

/**
 * Sees ops mined from the node rather than from the bundler: one eth_getLogs of the EntryPoint's
 * UserOperationEvents per new block. Polling every in-flight op's eth_getUserOperationReceipt
 * every 50 ms (thousands of lookups a second at K = 1000) made the bench's own polling the
 * bundler's largest cost; a wallet polls one op, seconds apart.
 */
export class ChainReceiptWatcher {
  private readonly waiting = new Map<string, (r: OpReceiptSeen) => void>()
  /** Ops mined before anyone waited for them (the send call returned after the block). */
  private readonly early = new Map<string, OpReceiptSeen>()
  private timer?: NodeJS.Timeout
  private polling = false
  private next?: bigint
  private first?: bigint
  /** Every op hash seen in a UserOperationEvent, to count any included twice. */
  private readonly everSeen = new Set<string>()
  /** UserOperationEvents for an op hash already seen: an op included twice. */
  duplicates = 0

  constructor(
    private readonly client: PublicClient,
    private readonly entryPoint: Address,
    private readonly intervalMs = 50,
  ) {}

  async start(): Promise<void> {
    this.next = (await this.client.getBlockNumber({ cacheTime: 0 })) + 1n
    this.first = this.next
    this.timer ??= setInterval(() => void this.poll(), this.intervalMs)
  }

  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  get inFlight(): number {
    return this.waiting.size
  }

  wait(hash: Hash): Promise<OpReceiptSeen> {
    const key = hash.toLowerCase()
    const seen = this.early.get(key)
    if (seen) {
      this.early.delete(key)
      return Promise.resolve(seen)
    }
    return new Promise((resolve) => this.waiting.set(key, resolve))
  }

  /** The blocks this watcher has read: from the head after start() to the last one polled. */
  get blocks(): { from: bigint; to: bigint } | undefined {
    if (this.first === undefined || this.next === undefined || this.next <= this.first) return undefined
    return { from: this.first, to: this.next - 1n }
  }

  private async poll(): Promise<void> {
    if (this.polling || this.next === undefined) return
    this.polling = true
    try {
      const head = await this.client.getBlockNumber({ cacheTime: 0 })
      if (head < this.next) return
      const logs = await this.client.getLogs({
        address: this.entryPoint,
        event: USER_OPERATION_EVENT,
        fromBlock: this.next,
        toBlock: head,
      })
      const at = performance.now()
      for (const l of logs) {
        const key = (l.args.userOpHash as Hash).toLowerCase()
        if (this.everSeen.has(key)) this.duplicates++
        this.everSeen.add(key)
        const seen = { at, txHash: l.transactionHash as Hash, success: l.args.success === true }
        const resolve = this.waiting.get(key)
        if (resolve) {
          this.waiting.delete(key)
          resolve(seen)
        } else {
          this.early.set(key, seen)
        }
      }
      this.next = head + 1n
    } catch {
      // a failed poll is retried on the next tick, from the same block
    } finally {
      this.polling = false
    }
  }
}
