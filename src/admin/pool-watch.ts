import { Gauge, type Registry } from 'prom-client'
import type { Address } from 'viem'
import { versionOf } from '../chain/entrypoint.js'
import { effectiveTip } from '../chain/fee-math.js'
import type { PoolDebug } from '../pool/types.js'

/** One EntryPoint's mempool at a glance. */
export interface PoolSummary {
  entryPoint: Address
  version?: string
  ops: number
  /** The op that pays the highest tip at the current base fee. */
  best?: { maxFeePerGas: string; maxPriorityFeePerGas: string; effectiveTip: string }
  /** Entities and senders the reputation rules throttle or ban right now. */
  throttled: number
  banned: number
}

/**
 * Reads the pool through its debug queries (dumpMempool, dumpReputation) only: per-EntryPoint op
 * counts for Rundler's op_pool_num_ops_in_pool, and summaries for the status page, at most once a
 * second however many viewers ask.
 */
export class PoolWatch {
  private cached?: { at: number; value: Promise<PoolSummary[]> }

  constructor(
    private readonly o: {
      pool: Pick<PoolDebug, 'dumpMempool' | 'dumpReputation'>
      entryPoints: readonly Address[]
      baseFee: () => bigint | undefined
      registry?: Registry
      now?: () => number
    },
  ) {
    if (o.registry) this.register(o.registry)
  }

  summaries(): Promise<PoolSummary[]> {
    const now = (this.o.now ?? Date.now)()
    if (!this.cached || now - this.cached.at >= 1000) {
      const value = Promise.all(this.o.entryPoints.map((ep) => this.summary(ep)))
      this.cached = { at: now, value }
      value.catch(() => {
        if (this.cached?.value === value) this.cached = undefined
      })
    }
    return this.cached.value
  }

  private async summary(entryPoint: Address): Promise<PoolSummary> {
    const [ops, reputation] = await Promise.all([
      this.o.pool.dumpMempool(entryPoint),
      this.o.pool.dumpReputation(entryPoint),
    ])
    const baseFee = this.o.baseFee() ?? 0n
    let best: PoolSummary['best']
    let bestTip: bigint | undefined
    for (const { op } of ops) {
      const tip = effectiveTip(op, baseFee)
      if (bestTip === undefined || tip > bestTip) {
        bestTip = tip
        best = {
          maxFeePerGas: op.maxFeePerGas.toString(),
          maxPriorityFeePerGas: op.maxPriorityFeePerGas.toString(),
          effectiveTip: tip.toString(),
        }
      }
    }
    return {
      entryPoint,
      version: versionOf(entryPoint),
      ops: ops.length,
      best,
      throttled: reputation.filter((r) => r.status === 'throttled').length,
      banned: reputation.filter((r) => r.status === 'banned').length,
    }
  }

  private register(registry: Registry): void {
    const watch = this
    new Gauge({
      name: 'op_pool_num_ops_in_pool',
      help: 'User operations in the mempool, per EntryPoint',
      labelNames: ['entry_point'],
      registers: [registry],
      async collect() {
        const all = await watch.summaries()
        for (const s of all) this.set({ entry_point: s.entryPoint }, s.ops)
      },
    })
  }
}
