import { Counter, type Registry } from 'prom-client'
import type { OutcomeStatus, SenderStatus } from '../builder/sender-status.js'
import type { TransactionSender } from '../builder/submit/types.js'
import type { HeadWatch } from './head-watch.js'
import type { PoolSummary, PoolWatch } from './pool-watch.js'
import type { BundleRecord, SenderJournal } from './sender-journal.js'

/** Where bundles go, when a private relay with a fallback to the node is in use. */
export interface RelayStatus {
  name: string
  /** The path the next bundle takes. */
  path: 'private' | 'fallback'
  switches: { toFallback: number; toPrivate: number }
}

/** Everything the status page shows, as JSON (amounts in wei as decimal strings; no secrets). */
export interface StatusSnapshot {
  version: string
  chainId: number
  /** When this snapshot was taken (ms since epoch). */
  at: number
  head?: { number: string; hash: string; timestamp: number; ageSeconds: number }
  fees?: { baseFee: string; bundlePriorityFee: string; opMinPriorityFee: string; opMinMaxFee: string }
  senders: (SenderStatus & { lastOutcome?: OutcomeStatus })[]
  pool: PoolSummary[]
  bundles: BundleRecord[]
  relay?: RelayStatus
  settings: { maxBlocksToWaitForMine: number; maxReplacementUnderpricedBlocks: number; unsafe: boolean }
}

export interface StatusSources {
  version: string
  chainId: number
  journal: SenderJournal
  pools: PoolWatch
  head: HeadWatch
  relay: () => RelayStatus | undefined
  settings: StatusSnapshot['settings']
  now?: () => number
}

export async function takeSnapshot(src: StatusSources): Promise<StatusSnapshot> {
  const h = src.head.head
  const f = src.head.fees
  return {
    version: src.version,
    chainId: src.chainId,
    at: (src.now ?? Date.now)(),
    head: h && {
      number: h.number.toString(),
      hash: h.hash,
      timestamp: Number(h.timestamp),
      ageSeconds: Math.round((src.head.ageSeconds() ?? 0) * 10) / 10,
    },
    fees: f && {
      baseFee: f.baseFee.toString(),
      bundlePriorityFee: f.bundlePriorityFee.toString(),
      opMinPriorityFee: f.opMinPriorityFee.toString(),
      opMinMaxFee: f.opMinMaxFee.toString(),
    },
    senders: src.journal.senders(),
    pool: await src.pools.summaries(),
    bundles: src.journal.bundles(),
    relay: src.relay(),
    settings: src.settings,
  }
}

/** The relay fallback of a private sender, if the builder's transaction sender has one. */
export function relayOf(submitter: TransactionSender | undefined): () => RelayStatus | undefined {
  const s = submitter as (TransactionSender & Partial<RelayStatus>) | undefined
  if (!s?.switches || (s.path !== 'private' && s.path !== 'fallback')) return () => undefined
  return () => ({ name: s.name, path: s.path as RelayStatus['path'], switches: { ...s.switches! } })
}

/** conveyor_builder_relay_fallback_switches_total{to}: switches from the relay to the node and back. */
export function registerRelayMetrics(registry: Registry, relay: () => RelayStatus | undefined): void {
  new Counter({
    name: 'conveyor_builder_relay_fallback_switches_total',
    help: 'Private relay fallback switches: to=fallback (relay unavailable, raw through the node), to=private (relay tried again)',
    labelNames: ['to'],
    registers: [registry],
    collect() {
      const r = relay()
      this.reset()
      if (!r) return
      this.inc({ to: 'fallback' }, r.switches.toFallback)
      this.inc({ to: 'private' }, r.switches.toPrivate)
    },
  })
}
