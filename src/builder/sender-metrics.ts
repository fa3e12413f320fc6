import { Counter, Histogram, type Registry } from 'prom-client'

/**
 * The bundle senders' Prometheus metrics. The machine names its own counters (bundle_sent,
 * bundle_mined, cancellation_sent, …) in `metric` effects; each becomes
 * `conveyor_sender_<name>_total` with the sender index and the effect's labels.
 */
export class SenderMetrics {
  private readonly counters = new Map<string, { counter: Counter<string>; keys: string[] }>()
  readonly blocksToMine: Histogram<'sender'>
  readonly opsPerBundle: Histogram<'sender'>
  readonly gasPerBundle: Histogram<'sender'>

  constructor(private readonly registry?: Registry) {
    const registers = registry ? [registry] : []
    this.blocksToMine = new Histogram({
      name: 'conveyor_sender_blocks_to_mine',
      help: 'Blocks from the first send at a nonce to the bundle being mined',
      labelNames: ['sender'],
      buckets: [0, 1, 2, 3, 5, 8, 13, 21],
      registers,
    })
    this.opsPerBundle = new Histogram({
      name: 'conveyor_sender_ops_per_mined_bundle',
      help: 'User operations per mined bundle',
      labelNames: ['sender'],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128],
      registers,
    })
    this.gasPerBundle = new Histogram({
      name: 'conveyor_sender_gas_per_mined_bundle',
      help: 'Gas used per mined bundle',
      labelNames: ['sender'],
      buckets: [1e5, 3e5, 1e6, 3e6, 1e7, 3e7],
      registers,
    })
  }

  /** One observation of a mined bundle (the machine's `measure` effect). */
  observe(name: 'blocks_to_mine' | 'ops_per_bundle' | 'gas_per_bundle', sender: number, value: number): void {
    const histogram = {
      blocks_to_mine: this.blocksToMine,
      ops_per_bundle: this.opsPerBundle,
      gas_per_bundle: this.gasPerBundle,
    }[name]
    histogram.observe({ sender: String(sender) }, value)
  }

  count(name: string, sender: number, labels: Record<string, string>): void {
    // A metric name has one label set in prometheus: the first use of a name fixes its label keys.
    let entry = this.counters.get(name)
    if (!entry) {
      const keys = Object.keys(labels).sort()
      const counter = new Counter({
        name: `conveyor_sender_${name}_total`,
        help: `Bundle sender event: ${name.replaceAll('_', ' ')}`,
        labelNames: ['sender', ...keys],
        registers: this.registry ? [this.registry] : [],
      })
      entry = { counter, keys }
      this.counters.set(name, entry)
    }
    entry.counter.inc({
      sender: String(sender),
      ...Object.fromEntries(entry.keys.map((k) => [k, labels[k] ?? ''])),
    })
  }
}
