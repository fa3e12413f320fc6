/**
 * End-to-end benchmark: a fresh `conveyor dev` child process per configuration (embedded anvil,
 * both EntryPoints, N funded signers), driven over its JSON-RPC by a load generator with bounded
 * concurrency (one op in flight per SimpleAccount). Reports sustained throughput (ops whose receipt
 * became available per second, over the measured window) and latency from eth_sendUserOperation to
 * the receipt being served by eth_getUserOperationReceipt, for 1, 2 and 4 bundle senders.
 *
 *   npm run bench
 *   BENCH_E2E_SECONDS=30 BENCH_E2E_ACCOUNTS=64 BENCH_E2E_RUNS=1@1,4@1/unsafe,4@0.5/unsafe npm run bench
 *     (runs are senders@blockTimeSeconds)
 */
import { type Address, type Hash, zeroAddress } from 'viem'
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

const VERSION = 'v0.7' as const
const WINDOW_S = Number(process.env.BENCH_E2E_SECONDS ?? 30)
const RAMP_S = 3
/**
 * Accounts (= ops in flight). Traced admission runs at the speed of anvil's JS tracer (~15 ops/s),
 * so more in flight there would only measure a queue; unsafe runs get enough to fill bundles.
 */
const ACCOUNTS = {
  traced: Number(process.env.BENCH_E2E_ACCOUNTS ?? 32),
  unsafe: Number(process.env.BENCH_E2E_ACCOUNTS ?? 256),
}
/** How long an op may take to be mined before the generator gives up on its account. */
const OP_TIMEOUT_MS = 60_000
const DRAIN_MS = 20_000
const RUNS = (process.env.BENCH_E2E_RUNS ?? '1@1,2@1,4@1,1@1/unsafe,4@1/unsafe,4@0.5/unsafe')
  .split(',')
  .map((r) => {
    const [spec = '', mode] = r.split('/')
    const [senders, blockTime] = spec.split('@')
    return { senders: Number(senders), blockTime: Number(blockTime ?? 1), unsafe: mode === 'unsafe' }
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
  entryPoints: Record<typeof VERSION, Address>
  factories: Record<typeof VERSION, Address>
}

async function startConveyor(
  senders: number,
  blockTime: number,
  unsafe: boolean,
): Promise<{ run: Run; ready: Ready }> {
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
    '--entry_points',
    VERSION,
    ...(unsafe ? ['--unsafe'] : []),
    '--log.level',
    'warn',
  ])
  children.add(run)
  const ready = (await run.ready(60_000)) as unknown as Ready
  return { run, ready }
}

async function run(senders: number, blockTime: number, unsafe: boolean): Promise<RunResult> {
  const { run: child, ready } = await startConveyor(senders, blockTime, unsafe)
  const watcher = new ReceiptWatcher(ready.rpcUrl, 50)
  watcher.start()
  try {
    const chain = chainAt(ready.nodeUrl, ready.chainId, {
      entryPoints: { 'v0.7': ready.entryPoints[VERSION], 'v0.8': zeroAddress },
      factories: { 'v0.7': ready.factories[VERSION], 'v0.8': zeroAddress },
    })
    const accounts = await deployAccounts(chain, unsafe ? ACCOUNTS.unsafe : ACCOUNTS.traced)
    const gas = await estimateGas(chain, ready.rpcUrl, accounts[0]!)
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
        const b = await nextOp(chain, VERSION, account, gas, fees)
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
        account.nonce++
      }
    })
    clearInterval(feeTimer)
    const drainDeadline = performance.now() + DRAIN_MS
    while (watcher.inFlight > 0 && performance.now() < drainDeadline) {
      await new Promise((r) => setTimeout(r, 100))
    }
    return summarize({
      senders,
      blockTime,
      unsafe,
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
  }
}

/** The bundler's own estimate for a deployed account's op, used for every op of the run. */
async function estimateGas(chain: TestChain, rpcUrl: string, account: LoadAccount): Promise<OpGas> {
  const fees = await currentFees(chain)
  const draft = await nextOp(chain, VERSION, account, { verificationGasLimit: 0n, callGasLimit: 0n }, fees)
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
  senders: number
  blockTime: number
  unsafe: boolean
  line: Record<string, string | number>
}

/** Throughput over the window (receipts seen in it), latency of the ops sent in it. */
function summarize(r: {
  senders: number
  blockTime: number
  unsafe: boolean
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
    senders: r.senders,
    blockTime: r.blockTime,
    unsafe: r.unsafe,
    line: {
      validation: r.unsafe ? 'unsafe' : 'traced',
      accounts: r.accounts,
      senders: r.senders,
      blockTimeS: r.blockTime,
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
  for (const r of results)
    if (r.line.errors)
      lines.push(`rejections (${r.senders}@${r.blockTime}${r.unsafe ? '/unsafe' : ''}): ${r.line.errors}`)
  return `${lines.join('\n')}\n`
}

const results: RunResult[] = []
const started = performance.now()
for (const r of RUNS) {
  process.stderr.write(
    `running: ${r.senders} sender(s), ${r.blockTime} s blocks, ${r.unsafe ? 'unsafe' : 'traced'} validation, ${WINDOW_S} s window\n`,
  )
  results.push(await run(r.senders, r.blockTime, r.unsafe))
  process.stderr.write(`  ${JSON.stringify(results.at(-1)?.line)}\n`)
}
process.stdout.write(table(results, { windowS: WINDOW_S }))
process.stdout.write(`total run time ${((performance.now() - started) / 1000).toFixed(0)} s\n`)
process.exit(0)
