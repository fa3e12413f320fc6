/** The end-to-end bench's results: per-run figures, the table, and the same-run ratios. */
import type { Hash } from 'viem'
import { mapLimit } from '../../src/util/concurrency.js'
import type { TestChain } from '../../test/harness/chain.js'
import { percentile } from '../../test/support/bundler-load.js'
import type { CeilingResult } from './ceiling.js'

/** ceiling: the chain's own limit for the same ops, the bundler idle (ceiling.ts). */
export type Mode = 'unsafe' | 'safe' | 'js' | 'ceiling'
export type Phase = 'deployed' | 'new'
export type BundleGas = 'simulated' | 'declared'
export interface RunSpec {
  senders: number
  blockTime: number
  mode: Mode
  phase: Phase
  bundleGas: BundleGas
}

export interface BundleStats {
  /** Σ bundle gas limits ÷ Σ gas used, over the bundles mined in the window. */
  limitPerUsed: number
  /** Bundles mined in the window ÷ blocks that held at least one. */
  bundlesPerBlock: number
}

/** Reads each bundle mined in the window from the chain: how much block space its limit reserved. */
export async function bundleStats(chain: TestChain, mined: Sample[]): Promise<BundleStats> {
  const hashes = [...new Set(mined.map((m) => m.txHash))]
  const rows = await mapLimit(hashes, 16, async (hash) => {
    const [tx, receipt] = await Promise.all([
      chain.client.getTransaction({ hash }),
      chain.client.getTransactionReceipt({ hash }),
    ])
    return { limit: tx.gas, used: receipt.gasUsed, block: receipt.blockNumber }
  })
  const limit = rows.reduce((a, r) => a + r.limit, 0n)
  const used = rows.reduce((a, r) => a + r.used, 0n)
  const blocks = new Set(rows.map((r) => r.block)).size
  return {
    limitPerUsed: used > 0n ? Number((limit * 100n) / used) / 100 : 0,
    bundlesPerBlock: blocks > 0 ? Number((rows.length / blocks).toFixed(2)) : 0,
  }
}

export interface Sample {
  sentAt: number
  admittedAt: number
  minedAt: number
  txHash: Hash
  success: boolean
}

export interface RunResult {
  spec: RunSpec
  line: Record<string, string | number>
}

/** What the bench checks on chain and on the bundler process over a run. */
export interface RunAudit {
  /** Transactions to the EntryPoint that reverted (undefined: not checked). */
  reverted?: number
  /** UserOperationEvents for an op already seen: an op included twice. */
  duplicates?: number
  /** The bundler process's CPU over the window, in cores (itself, not the embedded anvil). */
  cpuCores?: number
}

/** Throughput over the window (receipts seen in it), latency of the ops sent in it. */
export function summarize(r: {
  chainStats: BundleStats
  audit: RunAudit
  /** The seed's bound on ops per block for this run's ops and senders (see seedBound in e2e.ts). */
  perBlock?: number
  spec: RunSpec
  accounts: number
  samples: Sample[]
  windowStart: number
  windowEnd: number
  stalled: number
  errors: Map<string, number>
}): RunResult {
  const windowS = (r.windowEnd - r.windowStart) / 1000
  const minedInWindow = r.samples.filter((s) => s.minedAt >= r.windowStart && s.minedAt < r.windowEnd)
  const sentInWindow = r.samples.filter((s) => s.sentAt >= r.windowStart && s.sentAt < r.windowEnd)
  const latency = sentInWindow.map((s) => s.minedAt - s.sentAt)
  const admit = sentInWindow.map((s) => s.admittedAt - s.sentAt)
  const bundles = new Set(minedInWindow.map((s) => s.txHash))
  const errors = [...r.errors.entries()].map(([m, n]) => `${n}× ${m}`).join('; ')
  return {
    spec: r.spec,
    line: {
      validation: r.spec.mode,
      phase: r.spec.phase,
      bundleGas: r.spec.bundleGas,
      accounts: r.accounts,
      senders: r.spec.senders,
      blockTimeS: r.spec.blockTime,
      opsPerS: Number((minedInWindow.length / windowS).toFixed(1)),
      p50Ms: Math.round(percentile(latency, 50)),
      p99Ms: Math.round(percentile(latency, 99)),
      admitP50Ms: Math.round(percentile(admit, 50)),
      admitP99Ms: Math.round(percentile(admit, 99)),
      bundles: bundles.size,
      opsPerBundle: Number((minedInWindow.length / Math.max(1, bundles.size)).toFixed(1)),
      limitPerUsed: r.chainStats.limitPerUsed,
      bundlesPerBlock: r.chainStats.bundlesPerBlock,
      cpu: r.audit.cpuCores === undefined ? '-' : r.audit.cpuCores.toFixed(2),
      seedBound: r.perBlock === undefined ? '-' : Number((r.perBlock / r.spec.blockTime).toFixed(1)),
      failed: r.samples.filter((s) => !s.success).length,
      stalled: r.stalled,
      twice: r.audit.duplicates ?? '-',
      reverted: r.audit.reverted ?? '-',
      rejected: [...r.errors.values()].reduce((a, b) => a + b, 0),
      ...(errors ? { errors } : {}),
    },
  }
}

export interface TableOptions {
  windowS: number
  rampS: number
  limits: 'estimated' | 'declared'
  receipts: 'chain' | 'bundler'
}

export function table(results: RunResult[], opts: TableOptions): string {
  const cols: [string, string][] = [
    ['validation', 'validation'],
    ['phase', 'accounts'],
    ['bundleGas', 'bundle gas'],
    ['accounts', 'in flight'],
    ['senders', 'senders'],
    ['blockTimeS', 'block s'],
    ['opsPerS', 'ops/s mined'],
    ['p50Ms', 'p50 ms'],
    ['p99Ms', 'p99 ms'],
    ['admitP50Ms', 'admit p50'],
    ['admitP99Ms', 'admit p99'],
    ['bundles', 'bundles'],
    ['opsPerBundle', 'ops/bundle'],
    ['limitPerUsed', 'limit/used'],
    ['bundlesPerBlock', 'bundles/block'],
    ['cpu', 'cpu cores'],
    ['seedBound', 'seed bound'],
    ['failed', 'failed'],
    ['stalled', 'lost'],
    ['twice', 'twice'],
    ['reverted', 'reverted'],
    ['rejected', 'rejected'],
  ]
  const rows = results.map((r) => cols.map(([k]) => String(r.line[k] ?? '')))
  const widths = cols.map(([, h], i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)))
  const fmt = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i] as number)).join('  ')
  const lines = [
    '',
    `conveyor dev end to end: SimpleAccounts, one op in flight each, ${opts.windowS} s window after a ${opts.rampS} s ramp, ${opts.limits} op limits`,
    opts.receipts === 'bundler'
      ? 'latency = eth_sendUserOperation sent -> eth_getUserOperationReceipt non-null (every op polled every 50 ms); admit = the send call itself'
      : "latency = eth_sendUserOperation sent -> the op's UserOperationEvent on the node (its logs polled every 50 ms); admit = the send call itself",
    "limit/used = the bundles' gas limits over their gas used; bundles/block over blocks holding any",
    'cpu cores = the bundler process over the window (not the embedded anvil); seed bound = senders × ⌊max bundle gas ÷ op max gas⌋ ops per block, per second',
    'failed = ops mined with success false; lost = admitted ops not mined within 60 s; twice = ops included twice; reverted = bundles reverted on chain',
    '',
    fmt(cols.map(([, h]) => h)),
    fmt(cols.map((_, i) => '-'.repeat(widths[i] as number))),
    ...rows.map(fmt),
    '',
  ]
  for (const r of results) if (r.line.errors) lines.push(`rejections (${label(r.spec)}): ${r.line.errors}`)
  lines.push(...ratios(results), ...overCeiling(results))
  return `${lines.join('\n')}\n`
}

export function label(s: RunSpec): string {
  return `${s.senders}@${s.blockTime}/${s.mode}/${s.phase}/${s.bundleGas}`
}

/** Throughput of each safe (or js) run over the unsafe run of the same senders, blocks and phase. */
export function ratios(results: RunResult[]): string[] {
  const out: string[] = []
  for (const r of results) {
    if (r.spec.bundleGas !== 'simulated') continue
    const base = results.find(
      (d) =>
        d.spec.bundleGas === 'declared' &&
        d.spec.mode === r.spec.mode &&
        d.spec.phase === r.spec.phase &&
        d.spec.senders === r.spec.senders &&
        d.spec.blockTime === r.spec.blockTime,
    )
    if (!base) continue
    const ratio = Number(r.line.opsPerS) / Number(base.line.opsPerS)
    out.push(
      `simulated/declared bundle gas limits, ${r.spec.mode} ${r.spec.phase}, ${r.spec.senders} senders: ${r.line.opsPerS} / ${base.line.opsPerS} ops/s = ${ratio.toFixed(2)}`,
    )
  }
  for (const r of results) {
    if (r.spec.mode === 'unsafe' || r.spec.mode === 'ceiling') continue
    const base = results.find(
      (u) =>
        u.spec.mode === 'unsafe' &&
        u.spec.phase === r.spec.phase &&
        u.spec.senders === r.spec.senders &&
        u.spec.blockTime === r.spec.blockTime &&
        u.spec.bundleGas === r.spec.bundleGas,
    )
    if (!base) continue
    const ratio = Number(r.line.opsPerS) / Number(base.line.opsPerS)
    out.push(
      `${r.spec.mode}/unsafe throughput, ${r.spec.phase} accounts, ${r.spec.senders} senders: ${r.line.opsPerS} / ${base.line.opsPerS} = ${ratio.toFixed(2)}`,
    )
  }
  return out
}

/** The ceiling run as a table row (latency has no meaning there: every op was sent at once). */
export function ceilingResult(spec: RunSpec, c: CeilingResult): RunResult {
  return {
    spec,
    line: {
      validation: 'ceiling',
      phase: spec.phase,
      bundleGas: 'estimateGas',
      accounts: '-',
      senders: 4,
      blockTimeS: spec.blockTime,
      opsPerS: c.opsPerS,
      bundles: c.bundles,
      opsPerBundle: c.opsPerBundle,
      limitPerUsed: c.limitPerUsed,
      bundlesPerBlock: c.bundlesPerBlock,
      failed: c.failed,
      // Pre-built ops the chain had no room for in the window: not lost, so not in the lost column.
      unsent: c.unmined,
    },
  }
}

/** Each bundler run's throughput over the ceiling of its phase and block time, from the same run. */
function overCeiling(results: RunResult[]): string[] {
  const out: string[] = []
  for (const r of results) {
    if (r.spec.mode === 'ceiling') continue
    const c = results.find(
      (x) =>
        x.spec.mode === 'ceiling' && x.spec.phase === r.spec.phase && x.spec.blockTime === r.spec.blockTime,
    )
    if (!c) continue
    const ratio = Number(r.line.opsPerS) / Number(c.line.opsPerS)
    out.push(`× ceiling, ${label(r.spec)}: ${r.line.opsPerS} / ${c.line.opsPerS} ops/s = ${ratio.toFixed(2)}`)
  }
  for (const r of results) {
    const bound = Number(r.line.seedBound)
    if (r.spec.mode === 'ceiling' || !Number.isFinite(bound) || bound <= 0) continue
    const c = results.find(
      (x) =>
        x.spec.mode === 'ceiling' && x.spec.phase === r.spec.phase && x.spec.blockTime === r.spec.blockTime,
    )
    const ceiling = c ? Number(c.line.opsPerS) : Number.POSITIVE_INFINITY
    const capped = Math.min(bound, ceiling)
    const ratio = Number(r.line.opsPerS) / capped
    out.push(
      `× seed bound, ${label(r.spec)}: ${r.line.opsPerS} / ${capped} ops/s = ${ratio.toFixed(2)}${ceiling < bound ? ' (the ceiling, below the bound)' : ''}`,
    )
  }
  return out
}
