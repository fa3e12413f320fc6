/**
 * End-to-end benchmark: a fresh `conveyor dev` child process per configuration (embedded anvil,
 * both EntryPoints, N funded signers), driven over its JSON-RPC by a load generator with bounded
 * concurrency (one op in flight per SimpleAccount; at most BENCH_E2E_SEND_CONCURRENCY, default 32,
 * being built and sent at once). Reports sustained throughput (ops whose receipt
 * became available per second, over the measured window) and latency from eth_sendUserOperation to
 * the receipt being served by eth_getUserOperationReceipt, by validation mode and account phase.
 *
 *   npm run bench
 *   BENCH_E2E_SECONDS=30 BENCH_E2E_ACCOUNTS=200 BENCH_E2E_RUNS=4@1/unsafe/new,4@1/safe/new npm run bench
 *     (runs are senders@blockTimeSeconds/mode/phase[/bundleGas]; mode: unsafe | safe (--sim.tracer
 *     auto, the native path on anvil) | js (--sim.tracer js) | ceiling (no bundler: the chain's own
 *     limit for the same ops, pre-signed, 10 per direct handleOps transaction); phase: deployed (ops of deployed
 *     accounts) | new (every op the first of a brand-new account, its factory deploying it);
 *     bundleGas: simulated (default) | declared, the bundler's --bundle_validation_gas)
 *   BENCH_E2E_RECEIPTS=bundler: see ops mined by polling every in-flight op's
 *     eth_getUserOperationReceipt every 50 ms (the bundler serves thousands of lookups a second);
 *     default: from the node's UserOperationEvent logs, one eth_getLogs per block.
 *   BENCH_E2E_LIMITS=declared: every op declares loose limits (verification 500,000 for a new
 *     account, 150,000 deployed; call 100,000) instead of the bundler's estimate (the default).
 *
 * To see where the bundler's time goes: BENCH_E2E_LOG_DIR=dir BENCH_E2E_LOG_LEVEL=info keeps each run's
 * log; CONVEYOR_CHILD_NODE_ARGS="--cpu-prof --cpu-prof-dir=dir" profiles each bundler process.
 *
 * Each run prints ops/s, × the ceiling and × the seed's bound (where the run has them), latency,
 * ops per bundle, bundles per block, the bundler's CPU, and the failure counts the bench checks on
 * chain (ops failed, lost, included twice; bundles reverted).
 *
 * The default compares safe with unsafe at 4 senders and K = 200 ops in flight, both phases, in one
 * run; the closing lines give each phase's safe/unsafe throughput ratio.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Address } from 'viem'
import { chainSpecFor } from '../src/chain/chain-spec.js'
import type { EntryPointVersion } from '../src/chain/entrypoint.js'
import { opMaxGas } from '../src/chain/gas.js'
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
  ReceiptWatcher,
  sendUserOperation,
  stopConveyor,
} from '../test/support/bundler-load.js'
import { conveyor, type Run } from '../test/support/conveyor-process.js'
import { measureCeiling } from './support/ceiling.js'
import { revertedBundles } from './support/chain-audit.js'
import { ChainReceiptWatcher } from './support/chain-receipts.js'
import {
  type BundleGas,
  bundleStats,
  ceilingResult,
  type Mode,
  type Phase,
  type RunResult,
  type RunSpec,
  type Sample,
  summarize,
  table,
} from './support/e2e-report.js'
import { freshAccountOp, stakeFactory } from './support/fresh-ops.js'
import { cpuSeconds } from './support/process-cpu.js'

const VERSION = 'v0.7' as const
const WINDOW_S = Number(process.env.BENCH_E2E_SECONDS ?? 30)
const RAMP_S = 3
/** K: ops in flight (one per account loop), the same for every mode so runs compare. */
const ACCOUNTS = Number(process.env.BENCH_E2E_ACCOUNTS ?? 200)
/** How long an op may take to be mined before the generator gives up on its account. */
const OP_TIMEOUT_MS = 60_000
const DRAIN_MS = 20_000
/** eth_sendUserOperation calls (with the op's building) in flight at once, as in the setup. */
const SEND_CONCURRENCY = Number(process.env.BENCH_E2E_SEND_CONCURRENCY ?? 32)
/** Where the bench sees an op mined: the node's UserOperationEvent logs (default), or the bundler's receipts. */
const RECEIPTS = (process.env.BENCH_E2E_RECEIPTS ?? 'chain') as 'chain' | 'bundler'
if (!['chain', 'bundler'].includes(RECEIPTS)) throw new Error(`unknown BENCH_E2E_RECEIPTS ${RECEIPTS}`)
type Limits = 'estimated' | 'declared'
const LIMITS = (process.env.BENCH_E2E_LIMITS ?? 'estimated') as Limits
if (!['estimated', 'declared'].includes(LIMITS)) throw new Error(`unknown BENCH_E2E_LIMITS ${LIMITS}`)
/** The loose limits of the declared workload. */
const DECLARED: Record<Phase, OpGas> = {
  new: { verificationGasLimit: 500_000n, callGasLimit: 100_000n },
  deployed: { verificationGasLimit: 150_000n, callGasLimit: 100_000n },
}
/** Ops the ceiling run builds per second of its window: comfortably above what the chain takes. */
const CEILING_OPS_PER_S: Record<Phase, number> = {
  new: Number(process.env.BENCH_CEILING_NEW_OPS_PER_S ?? 250),
  deployed: Number(process.env.BENCH_CEILING_DEPLOYED_OPS_PER_S ?? 800),
}
const RUNS: RunSpec[] = (
  process.env.BENCH_E2E_RUNS ?? '4@1/unsafe/new,4@1/safe/new,4@1/unsafe/deployed,4@1/safe/deployed'
)
  .split(',')
  .map((r) => {
    const [spec = '', mode = 'safe', phase = 'deployed', bundleGas = 'simulated'] = r.split('/')
    const [senders, blockTime] = spec.split('@')
    if (!['unsafe', 'safe', 'js', 'ceiling'].includes(mode)) throw new Error(`unknown mode ${mode} in ${r}`)
    if (!['deployed', 'new'].includes(phase)) throw new Error(`unknown phase ${phase} in ${r}`)
    if (!['simulated', 'declared'].includes(bundleGas))
      throw new Error(`unknown bundle gas ${bundleGas} in ${r}`)
    return {
      senders: Number(senders),
      blockTime: Number(blockTime ?? 1),
      mode: mode as Mode,
      phase: phase as Phase,
      bundleGas: bundleGas as BundleGas,
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
    '--bundle_validation_gas',
    spec.bundleGas,
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
  const chain = chainAt(ready.nodeUrl, ready.chainId, {
    entryPoints: ready.entryPoints,
    factories: ready.factories,
    delegates: {},
  })
  const watcher =
    RECEIPTS === 'bundler'
      ? new ReceiptWatcher(ready.rpcUrl, 50)
      : new ChainReceiptWatcher(chain.client, chain.deployment.entryPoints[VERSION], 50)
  await watcher.start()
  try {
    const fresh = spec.phase === 'new'
    if (fresh) await stakeFactory(chain, VERSION)
    const accounts = fresh
      ? Array.from({ length: ACCOUNTS }, () => undefined)
      : await deployAccounts(chain, ACCOUNTS)
    const gas =
      LIMITS === 'declared' ? DECLARED[spec.phase] : await estimateGas(chain, ready.rpcUrl, accounts[0])
    if (spec.mode === 'ceiling') {
      const c = await measureCeiling(chain, {
        version: VERSION,
        accounts: fresh ? undefined : (accounts as LoadAccount[]),
        gas,
        rampS: RAMP_S,
        windowS: WINDOW_S,
        opsPerS: CEILING_OPS_PER_S[spec.phase],
      })
      return ceilingResult(spec, c)
    }
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
    const opGas: bigint[] = []
    const t0 = performance.now()
    const windowStart = t0 + RAMP_S * 1000
    const windowEnd = windowStart + WINDOW_S * 1000
    const cpu: { start?: number; end?: number } = {}
    const cpuTimers = [
      setTimeout(() => {
        cpu.start = cpuSeconds(child.child.pid)
      }, RAMP_S * 1000),
      setTimeout(
        () => {
          cpu.end = cpuSeconds(child.child.pid)
        },
        (RAMP_S + WINDOW_S) * 1000,
      ),
    ]
    let stalled = 0
    const sends = new Slots(SEND_CONCURRENCY)
    await mapLimit(accounts, accounts.length, async (account) => {
      while (performance.now() < windowEnd) {
        // Building and sending take a slot; waiting for the receipt does not (K ops stay in flight).
        const release = await sends.take()
        let b: Awaited<ReturnType<typeof nextOp>>
        let sentAt: number
        try {
          b = account
            ? await nextOp(chain, VERSION, account, gas, fees)
            : await freshAccountOp(chain, VERSION, gas, fees)
          if (opGas.length < 256) opGas.push(opMaxGas(b.op))
          sentAt = performance.now()
          // A refused op (a throttled factory, say) is sent again as it is, not rebuilt.
          for (;;) {
            try {
              await sendUserOperation(ready.rpcUrl, b.op, entryPoint)
              break
            } catch (err) {
              const msg = String((err as Error).message).slice(0, 80)
              errors.set(msg, (errors.get(msg) ?? 0) + 1)
              if (performance.now() >= windowEnd) return
              await new Promise((r) => setTimeout(r, 250))
            }
          }
        } finally {
          release()
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
    for (const t of cpuTimers) clearTimeout(t)
    const drainDeadline = performance.now() + DRAIN_MS
    while (watcher.inFlight > 0 && performance.now() < drainDeadline) {
      await new Promise((r) => setTimeout(r, 100))
    }
    const chainStats = await bundleStats(
      chain,
      samples.filter((x) => x.minedAt >= windowStart && x.minedAt < windowEnd),
    )
    const reverted =
      watcher instanceof ChainReceiptWatcher
        ? await revertedBundles(chain, entryPoint, watcher.blocks)
        : undefined
    return summarize({
      chainStats,
      audit: {
        reverted,
        duplicates: watcher instanceof ChainReceiptWatcher ? watcher.duplicates : undefined,
        cpuCores:
          cpu.start !== undefined && cpu.end !== undefined ? (cpu.end - cpu.start) / WINDOW_S : undefined,
      },
      perBlock: await seedBound(chain, spec.senders, opGas),
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
      const name = `${spec.senders}@${spec.blockTime}-${spec.mode}-${spec.phase}-${spec.bundleGas}.log`
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

/**
 * The seed's own bound on ops per block: each sender's bundle holds ⌊max bundle gas ÷ an op's max
 * gas⌋ ops (the gas-cap rule, with the bundler's default cap: 0.9 × the block gas limit, never above
 * the per-transaction cap), one bundle per sender per block. Op max gas is the median of the ops sent.
 */
async function seedBound(chain: TestChain, senders: number, opGas: bigint[]): Promise<number | undefined> {
  if (opGas.length === 0) return undefined
  const sorted = [...opGas].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  const median = sorted[Math.floor(sorted.length / 2)] as bigint
  const { gasLimit } = await chain.client.getBlock({ blockTag: 'latest' })
  const ninety = (gasLimit * 9n) / 10n
  const cap = chainSpecFor(chain.chainId).maxTransactionGas
  const maxBundleGas = ninety < cap ? ninety : cap
  return senders * Number(maxBundleGas / median)
}

/** A counting semaphore: at most `n` holders at once, the rest wait in order. */
class Slots {
  private free: number
  private readonly queue: (() => void)[] = []

  constructor(n: number) {
    this.free = n
  }

  async take(): Promise<() => void> {
    if (this.free > 0) this.free--
    else await new Promise<void>((r) => this.queue.push(r))
    return () => {
      const next = this.queue.shift()
      if (next) next()
      else this.free++
    }
  }
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

const results: RunResult[] = []
const started = performance.now()
for (const r of RUNS) {
  process.stderr.write(
    `running: ${r.senders} sender(s), ${r.blockTime} s blocks, ${r.mode} validation, ${r.phase} accounts, K=${ACCOUNTS}, ${WINDOW_S} s window\n`,
  )
  results.push(await run(r))
  process.stderr.write(`  ${JSON.stringify(results.at(-1)?.line)}\n`)
}
process.stdout.write(table(results, { windowS: WINDOW_S, rampS: RAMP_S, limits: LIMITS, receipts: RECEIPTS }))
process.stdout.write(`total run time ${((performance.now() - started) / 1000).toFixed(0)} s\n`)
process.exit(0)
