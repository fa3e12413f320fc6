import { Counter, Histogram, type Registry } from 'prom-client'

/**
 * Rundler's builder counters, fed by the machine's metric effects of the same meaning (a dashboard
 * built for Rundler keeps working). `when` narrows an effect by its labels.
 */
const RUNDLER_COUNTERS: Record<
  string,
  { name: string; help: string; when?: (l: Record<string, string>) => boolean }[]
> = {
  bundle_sent: [
    { name: 'builder_bundle_txns_sent', help: 'Bundle transactions sent (replacements included)' },
    {
      name: 'builder_bundle_txn_fee_increases',
      help: 'Bundle transactions sent as fee-raised replacements',
      when: (l) => l.replacement === 'true',
    },
  ],
  bundle_mined: [{ name: 'builder_bundle_txns_success', help: 'Bundle transactions mined and successful' }],
  bundle_reverted: [{ name: 'builder_bundle_txns_reverted', help: 'Bundle transactions mined but reverted' }],
  bundle_abandoned: [
    { name: 'builder_bundle_txns_abandoned', help: 'Bundles abandoned after max_blocks_to_wait_for_mine' },
  ],
  bundle_send_error: [
    { name: 'builder_bundle_txns_failed', help: 'Bundle submissions the node or relay refused' },
  ],
  cancellation_sent: [
    { name: 'builder_cancellation_txns_sent', help: 'Hard cancellation transactions sent' },
  ],
  cancellation_mined: [
    { name: 'builder_cancellation_txns_mined', help: 'Hard cancellation transactions mined' },
  ],
  cancellation_abandoned: [
    {
      name: 'builder_cancellations_abandoned',
      help: 'Cancellations given up after max_cancellation_fee_increases',
    },
  ],
  cancellation_done: [
    {
      name: 'builder_soft_cancellations',
      help: 'Soft cancellations (relay-side)',
      when: (l) => l.kind === 'soft',
    },
  ],
}

/**
 * The bundle senders' Prometheus metrics. The machine names its own counters (bundle_sent,
 * bundle_mined, cancellation_sent, …) in `metric` effects; each becomes
 * `conveyor_sender_<name>_total` with the sender index and the effect's labels, and where Rundler
 * has the counter, also Rundler's (`builder_bundle_txns_sent`, …, labelled by sender).
 */
export class SenderMetrics {
  private readonly counters = new Map<string, { counter: Counter<string>; keys: string[] }>()
  private readonly rundler = new Map<string, Counter<'sender'>>()
  private readonly gasUsed: Counter<'sender'>
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
    this.gasUsed = new Counter({
      name: 'builder_bundle_gas_used',
      help: 'Gas used by mined bundle transactions',
      labelNames: ['sender'],
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
    if (name === 'gas_per_bundle') this.gasUsed.inc({ sender: String(sender) }, value)
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
    for (const r of RUNDLER_COUNTERS[name] ?? []) {
      if (r.when && !r.when(labels)) continue
      let c = this.rundler.get(r.name)
      if (!c) {
        c = new Counter({
          name: r.name,
          help: r.help,
          labelNames: ['sender'],
          registers: this.registry ? [this.registry] : [],
        })
        this.rundler.set(r.name, c)
      }
      c.inc({ sender: String(sender) })
    }
  }
}
