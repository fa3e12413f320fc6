/**
 * End-to-end benchmark: a fresh `conveyor dev` child process per configuration (embedded anvil,
 * both EntryPoints, N funded signers), driven over its JSON-RPC by a load generator with bounded
 * concurrency (one op in flight per SimpleAccount). Reports sustained throughput (ops whose receipt
 * became available per second, over the measured window) and latency from eth_sendUserOperation to
 * the receipt being served by eth_getUserOperationReceipt, by validation mode and account phase.
 *
 *   npm run bench
 *   BENCH_E2E_SECONDS=30 BENCH_E2E_ACCOUNTS=200 BENCH_E2E_RUNS=4@1/unsafe/new,4@1/safe/new npm run bench
 *     (runs are senders@blockTimeSeconds/mode/phase; mode: unsafe | safe (--sim.tracer auto, the
 *     native path on anvil) | js (--sim.tracer js); phase: deployed (ops of deployed accounts) |
 *     new (every op the first of a brand-new account, its factory deploying it))
 *
 * To see where the bundler's time goes: BENCH_E2E_LOG_DIR=dir BENCH_E2E_LOG_LEVEL=info keeps each run's
 * log; CONVEYOR_CHILD_NODE_ARGS="--cpu-prof --cpu-prof-dir=dir" profiles each bundler process.
 *
 * The default compares safe with unsafe at 4 senders and K = 200 ops in flight, both phases, in one
 * run; the closing lines give each phase's safe/unsafe throughput ratio.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Address, Hash } from 'viem'
import type { EntryPointVersion } from '../src/chain/entrypoint.js'
import { encodeUserOp } from '../src/rpc/encode.js'
import { mapLimit } from '../src/util/concurrency.js'
import { currentFees, DUMMY_SIGNATURE } from '../test/harness/account.js'
import type { TestChain } from '../test/harness/chain.js'
import {
  chainAt,
  deployAccounts,
  jsonRpc,
  type LoadAccount,
  nextOp,
  type OpGas,
  percentile,
  ReceiptWatcher,
  sendUserOperation,
  stopConveyor,
} from '../test/support/bundler-load.js'
import { conveyor, type Run } from '../test/support/conveyor-process.js'
import { freshAccountOp, stakeFactory } from './support/fresh-ops.js'

const VERSION = 'v0.7' as const
const WINDOW_S = Number(process.env.BENCH_E2E_SECONDS ?? 30)
const RAMP_S = 3
/** K: ops in flight (one per account loop), the same for every mode so runs compare. */
const ACCOUNTS = Number(process.env.BENCH_E2E_ACCOUNTS ?? 200)
/** How long an op may take to be mined before the generator gives up on its account. */
const OP_TIMEOUT_MS = 60_000
const DRAIN_MS = 20_000
type Mode = 'unsafe' | 'safe' | 'js'
type Phase = 'deployed' | 'new'
interface RunSpec {
  senders: number
  blockTime: number
  mode: Mode
  phase: Phase
}
const RUNS: RunSpec[] = (
  process.env.BENCH_E2E_RUNS ?? '4@1/unsafe/new,4@1/safe/new,4@1/unsafe/deployed,4@1/safe/deployed'
)
  .split(',')
  .map((r) => {
    const [spec = '', mode = 'safe', phase = 'deployed'] = r.split('/')
    const [senders, blockTime] = spec.split('@')
    if (!['unsafe', 'safe', 'js'].includes(mode)) throw new Error(`unknown mode ${mode} in ${r}`)
    if (!['deployed', 'new'].includes(phase)) throw new Error(`unknown phase ${phase} in ${r}`)
    return {
      senders: Number(senders),
      blockTime: Number(blockTime ?? 1),
      mode: mode as Mode,
      phase: phase as Phase,
    }
  })

const children = new Set<Run>()
process.on('exit', () => {
  for (const c of children) c.child.kill('SIGKILL')
})
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => process.exit(130))
}

interface Ready {
  rpcUrl: string
  nodeUrl: string
  chainId: number
  entryPoints: Record<EntryPointVersion, Address>
  factories: Record<EntryPointVersion, Address>
}

async function startConveyor(spec: RunSpec): Promise<{ run: Run; ready: Ready }> {
  const { senders, blockTime, mode } = spec
  const run = conveyor([
    'dev',
    '--num_signers',
    String(senders),
    '--dev.block_time',
    String(blockTime),
    '--rpc.port',
    '0',
    '--metrics.port',
    '0',
    // K clients, each on its own connection: above the default cap of 100 they would be refused.
    '--rpc.max_connections',
    String(ACCOUNTS + 64),
    '--entry_points',
    VERSION,
    ...(mode === 'unsafe' ? ['--unsafe'] : ['--sim.tracer', mode === 'js' ? 'js' : 'auto']),
    '--log.level',
    process.env.BENCH_E2E_LOG_LEVEL ?? 'warn',
  ])
  children.add(run)
  const ready = (await run.ready(60_000)) as unknown as Ready
  return { run, ready }
}

async function run(spec: RunSpec): Promise<RunResult> {
  const { run: child, ready } = await startConveyor(spec)
  const watcher = new ReceiptWatcher(ready.rpcUrl, 50)
  watcher.start()
  try {
    const chain = chainAt(ready.nodeUrl, ready.chainId, {
      entryPoints: ready.entryPoints,
      factories: ready.factories,
      delegates: {},
    })
    const fresh = spec.phase === 'new'
    if (fresh) await stakeFactory(chain, VERSION)
    const accounts = fresh
      ? Array.from({ length: ACCOUNTS }, () => undefined)
      : await deployAccounts(chain, ACCOUNTS)
    const gas = await estimateGas(chain, ready.rpcUrl, accounts[0])
    let fees = await currentFees(chain)
    const feeTimer = setInterval(() => {
      currentFees(chain).then(
        (f) => {
          fees = f
        },
        () => undefined, // keep the last fees; the next tick tries again
      )
    }, 500)

    const entryPoint = chain.deployment.entryPoints[VERSION]
    const samples: Sample[] = []
    const errors = new Map<string, number>()
    const t0 = performance.now()
    const windowStart = t0 + RAMP_S * 1000
    const windowEnd = windowStart + WINDOW_S * 1000
    let stalled = 0
    await mapLimit(accounts, accounts.length, async (account) => {
      while (performance.now() < windowEnd) {
        const b = account
          ? await nextOp(chain, VERSION, account, gas, fees)
          : await freshAccountOp(chain, VERSION, gas, fees)
        const sentAt = performance.now()
        try {
          await sendUserOperation(ready.rpcUrl, b.op, entryPoint)
        } catch (err) {
          const msg = String((err as Error).message).slice(0, 80)
          errors.set(msg, (errors.get(msg) ?? 0) + 1)
          await new Promise((r) => setTimeout(r, 250))
          continue
        }
        const admittedAt = performance.now()
        const r = await withTimeout(watcher.wait(b.hash), OP_TIMEOUT_MS)
        if (!r) {
          stalled++
          return
        }
        samples.push({ sentAt, admittedAt, minedAt: r.at, txHash: r.txHash, success: r.success })
        if (account) account.nonce++
      }
    })
    clearInterval(feeTimer)
    const drainDeadline = performance.now() + DRAIN_MS
    while (watcher.inFlight > 0 && performance.now() < drainDeadline) {
      await new Promise((r) => setTimeout(r, 100))
    }
    return summarize({
      spec,
      accounts: accounts.length,
      samples,
      windowStart,
      windowEnd,
      stalled,
      errors,
    })
  } finally {
    watcher.stop()
    await stopConveyor(child)
    children.delete(child)
    // BENCH_E2E_LOG_DIR keeps each run's bundler log (with BENCH_E2E_LOG_LEVEL=info, say) to see why.
    const dir = process.env.BENCH_E2E_LOG_DIR
    if (dir) {
      const name = `${spec.senders}@${spec.blockTime}-${spec.mode}-${spec.phase}.log`
      writeFileSync(join(dir, name), child.stdout() + child.stderr())
    }
  }
}

/** The bundler's own estimate for the phase's op (a deployed account's, or a first op), used for every op. */
async function estimateGas(
  chain: TestChain,
  rpcUrl: string,
  account: LoadAccount | undefined,
): Promise<OpGas> {
  const fees = await currentFees(chain)
  const zero = { verificationGasLimit: 0n, callGasLimit: 0n }
  const draft = account
    ? await nextOp(chain, VERSION, account, zero, fees)
    : await freshAccountOp(chain, VERSION, zero, fees, false)
  const est = await jsonRpc<{ verificationGasLimit: string; callGasLimit: string }>(
    rpcUrl,
    'eth_estimateUserOperationGas',
    [{ ...encodeUserOp(draft.op), signature: DUMMY_SIGNATURE }, chain.deployment.entryPoints[VERSION]],
  )
  return { verificationGasLimit: BigInt(est.verificationGasLimit), callGasLimit: BigInt(est.callGasLimit) }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<undefined>((r) => {
      timer = setTimeout(() => r(undefined), ms)
    }),
  ])
}

interface Sample {
  sentAt: number
  admittedAt: number
  minedAt: number
  txHash: Hash
  success: boolean
}

interface RunResult {
  spec: RunSpec
  line: Record<string, string | number>
}

/** Throughput over the window (receipts seen in it), latency of the ops sent in it. */
function summarize(r: {
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
      failed: r.samples.filter((s) => !s.success).length,
      stalled: r.stalled,
      rejected: [...r.errors.values()].reduce((a, b) => a + b, 0),
      ...(errors ? { errors } : {}),
    },
  }
}

function table(results: RunResult[], opts: { windowS: number }): string {
  const cols: [string, string][] = [
    ['validation', 'validation'],
    ['phase', 'accounts'],
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
    ['failed', 'failed'],
    ['stalled', 'stalled'],
    ['rejected', 'rejected'],
  ]
  const rows = results.map((r) => cols.map(([k]) => String(r.line[k] ?? '')))
  const widths = cols.map(([, h], i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)))
  const fmt = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i] as number)).join('  ')
  const lines = [
    '',
    `conveyor dev end to end: deployed SimpleAccounts, one op in flight each, ${opts.windowS} s window after a ${RAMP_S} s ramp`,
    'latency = eth_sendUserOperation sent -> eth_getUserOperationReceipt non-null (polled every 50 ms); admit = the send call itself',
    '',
    fmt(cols.map(([, h]) => h)),
    fmt(cols.map((_, i) => '-'.repeat(widths[i] as number))),
    ...rows.map(fmt),
    '',
  ]
  for (const r of results) if (r.line.errors) lines.push(`rejections (${label(r.spec)}): ${r.line.errors}`)
  lines.push(...ratios(results))
  return `${lines.join('\n')}\n`
}

function label(s: RunSpec): string {
  return `${s.senders}@${s.blockTime}/${s.mode}/${s.phase}`
}

/** Throughput of each safe (or js) run over the unsafe run of the same senders, blocks and phase. */
function ratios(results: RunResult[]): string[] {
  const out: string[] = []
  for (const r of results) {
    if (r.spec.mode === 'unsafe') continue
    const base = results.find(
      (u) =>
        u.spec.mode === 'unsafe' &&
        u.spec.phase === r.spec.phase &&
        u.spec.senders === r.spec.senders &&
        u.spec.blockTime === r.spec.blockTime,
    )
    if (!base) continue
    const ratio = Number(r.line.opsPerS) / Number(base.line.opsPerS)
    out.push(
      `${r.spec.mode}/unsafe throughput, ${r.spec.phase} accounts, ${r.spec.senders} senders: ${r.line.opsPerS} / ${base.line.opsPerS} = ${ratio.toFixed(2)}`,
    )
  }
  return out
}

const results: RunResult[] = []
const started = performance.now()
for (const r of RUNS) {
  process.stderr.write(
    `running: ${r.senders} sender(s), ${r.blockTime} s blocks, ${r.mode} validation, ${r.phase} accounts, K=${ACCOUNTS}, ${WINDOW_S} s window\n`,
  )
  results.push(await run(r))
  process.stderr.write(`  ${JSON.stringify(results.at(-1)?.line)}\n`)
}
process.stdout.write(table(results, { windowS: WINDOW_S }))
process.stdout.write(`total run time ${((performance.now() - started) / 1000).toFixed(0)} s\n`)
process.exit(0)
