import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

export interface ProposerMetrics {
  skipped: Counter<'reason'>
  rejected: Counter<'reason'>
  bundleOps: Histogram
  blockShareGas: Gauge
}

export function proposerMetrics(registry?: Registry): ProposerMetrics {
  const registers = registry ? [registry] : []
  return {
    skipped: new Counter({
      name: 'conveyor_proposer_ops_skipped_total',
      help: 'Ops left out of a bundle but kept in the pool, by reason',
      labelNames: ['reason'],
      registers,
    }),
    rejected: new Counter({
      name: 'conveyor_proposer_ops_rejected_total',
      help: 'Ops removed from the pool by the proposer, by AA code',
      labelNames: ['reason'],
      registers,
    }),
    bundleOps: new Histogram({
      name: 'conveyor_proposer_bundle_ops',
      help: 'Ops per proposed bundle',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128],
      registers,
    }),
    blockShareGas: new Gauge({
      name: 'conveyor_proposer_block_share_gas',
      help: "The cap on a bundle's gas limit that lets every sender's bundle into one block (0: none yet)",
      registers,
    }),
  }
}
