/**
 * Bundle proposer benchmark: time to build a 128-op bundle from a pool of 10,000 real ops on anvil,
 * with the real LocalPool, Simulator and BundleProposer in-process (as test/support/builder-rig.ts
 * wires them).
 *
 * Filling the pool faithfully but quickly: 10,000 SimpleAccounts are deployed through the v0.7
 * factory in a few large executeBatch transactions, funded with anvil_setBalance, and each gets one
 * real signed op (gas limits from Conveyor's own estimator, distinct priority fees); every op is
 * admitted through pool.addOp, i.e. through real simulation, with bounded concurrency. The chain
 * mines nothing after that, so every build sees the same pool and state.
 *
 * Builds are timed end to end, and each phase is timed through thin wrappers around the
 * proposer's dependencies (pool, fee source, validator, node client), so a miss says where the
 * time went. Plain simulation (eth_call) is what the rig uses; the traced validator (ERC-7562 JS
 * tracer) is what `conveyor` uses in safe mode, measured with fewer builds.
 *
 *   npm run bench:proposer        BENCH_PROPOSER_OPS=10000 BENCH_PROPOSER_BUILDS=40 BENCH_PROPOSER_TRACED=3
 */
import {
  type Address,
  createPublicClient,
  custom,
  decodeEventLog,
  encodeFunctionData,
  http,
  type PublicClient,
} from 'viem'
import type { Bundle } from '../src/builder/bundle.js'
import { BundleProposer, DEFAULT_PROPOSER_SETTINGS } from '../src/builder/proposer.js'
import { chainSpecFor } from '../src/chain/chain-spec.js'
import { entryPointArtifact } from '../src/chain/entrypoint.js'
import { FeeEstimator } from '../src/chain/fees.js'
import { LocalPool } from '../src/pool/pool.js'
import type { Pool } from '../src/pool/types.js'
import { GasEstimatorImpl } from '../src/sim/estimator.js'
import { defaultSimSettings } from '../src/sim/settings.js'
import { callSimulation, encodeSimulateValidation, withSimulationCode } from '../src/sim/sim-call.js'
import { Simulator } from '../src/sim/simulator.js'
import { createValidationMode } from '../src/sim/tracer/mode.js'
import type { Validator } from '../src/sim/types.js'
import { mapLimit } from '../src/util/concurrency.js'
import { silentLogger } from '../src/util/log.js'
import { currentFees, newOwner } from '../test/harness/account.js'
import { startTestChain, type TestChain } from '../test/harness/chain.js'
import { type LoadAccount, nextOp, percentile } from '../test/support/bundler-load.js'

const VERSION = 'v0.7' as const
const POOL_OPS = Number(process.env.BENCH_PROPOSER_OPS ?? 10_000)
const BUILDS = Number(process.env.BENCH_PROPOSER_BUILDS ?? 40)
const TRACED_BUILDS = Number(process.env.BENCH_PROPOSER_TRACED ?? 3)
const BUNDLE_SIZE = 128
const TARGET_MEDIAN_MS = 150
/** Accounts created per executeBatch transaction (~260k gas each). */
const DEPLOY_CHUNK = 400
const ADMIT_CONCURRENCY = 16
/**
 * The selection counts each op's preVerificationGas (with its full 21,000 intrinsic share) against
 * the cap, so under the default 2^24 per-transaction cap only ~123 estimated SimpleAccount ops fit:
 * the bench sets 0.9 × a 30M block explicitly (--max_bundle_gas), as on a chain without EIP-7825.
 */
const MAX_BUNDLE_GAS = 27_000_000n

const t = () => performance.now()
const log = (s: string) => process.stderr.write(`${s}\n`)

/** One funded owner deploys all accounts through its own SimpleAccount's executeBatch. */
async function deployAccounts(chain: TestChain, n: number): Promise<LoadAccount[]> {
  const factory = chain.deployment.factories[VERSION]
  const factoryAbi = entryPointArtifact(VERSION, 'SimpleAccountFactory').abi
  const accountAbi = entryPointArtifact(VERSION, 'SimpleAccount').abi
  const deployer = newOwner()
  await chain.client.request({
    method: 'anvil_setBalance' as never,
    params: [deployer.address, '0x3635c9adc5dea00000'] as never,
  })
  const send = async (to: Address, data: `0x${string}`, gas: bigint) => {
    const fees = await currentFees(chain)
    const nonce = await chain.client.getTransactionCount({ address: deployer.address, blockTag: 'pending' })
    const raw = await deployer.signTransaction({
      type: 'eip1559',
      chainId: chain.chainId,
      nonce,
      to,
      data,
      gas,
      ...fees,
    })
    const hash = await chain.client.request({ method: 'eth_sendRawTransaction', params: [raw] })
    const receipt = await minedReceipt(chain, hash)
    if (receipt.status !== 'success') throw new Error(`deployment transaction ${hash} reverted`)
    return receipt
  }
  const createData = (owner: Address) =>
    encodeFunctionData({ abi: factoryAbi, functionName: 'createAccount', args: [owner, 0n] })

  const batcherReceipt = await send(factory, createData(deployer.address), 1_000_000n)
  const batcher = initializedAccounts(batcherReceipt.logs).get(deployer.address.toLowerCase())
  if (!batcher) throw new Error('the batching account was not created')

  const owners = Array.from({ length: n }, () => newOwner())
  const accounts: LoadAccount[] = []
  for (let i = 0; i < n; i += DEPLOY_CHUNK) {
    const chunk = owners.slice(i, i + DEPLOY_CHUNK)
    const data = encodeFunctionData({
      abi: accountAbi,
      functionName: 'executeBatch',
      args: [chunk.map(() => factory), chunk.map(() => 0n), chunk.map((o) => createData(o.address))],
    })
    const receipt = await send(batcher, data, BigInt(chunk.length) * 300_000n + 500_000n)
    const created = initializedAccounts(receipt.logs)
    for (const owner of chunk) {
      const sender = created.get(owner.address.toLowerCase())
      if (!sender) throw new Error(`no account created for ${owner.address}`)
      accounts.push({ owner, sender, nonce: 0n })
    }
  }
  // Prefunds: anvil_setBalance in JSON-RPC batches of 100.
  for (let i = 0; i < accounts.length; i += 100) {
    const body = accounts.slice(i, i + 100).map((a, j) => ({
      jsonrpc: '2.0',
      id: j,
      method: 'anvil_setBalance',
      params: [a.sender, '0x8ac7230489e80000'],
    }))
    const res = await fetch(chain.url, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    })
    const answers = (await res.json()) as { error?: unknown }[]
    if (answers.some((a) => a.error)) throw new Error('anvil_setBalance failed')
  }
  return accounts
}

/**
 * The receipt, mining a block if automine left the transaction waiting (seen once on a loaded
 * machine: a big transaction stayed pending until the next block was asked for).
 */
async function minedReceipt(chain: TestChain, hash: `0x${string}`) {
  const deadline = t() + 120_000
  let nextNudge = t() + 3_000
  while (t() < deadline) {
    const receipt = await chain.client.getTransactionReceipt({ hash }).catch(() => undefined)
    if (receipt) return receipt
    if (t() > nextNudge) {
      await chain.client.request({ method: 'evm_mine' as never, params: [] as never })
      nextNudge = t() + 3_000
    }
    await new Promise((r) => setTimeout(r, 20))
  }
  throw new Error(`deployment transaction ${hash} not mined within 120 s`)
}

/** owner (lower case) → account, from the SimpleAccountInitialized events in a receipt. */
function initializedAccounts(logs: { address: Address; data: `0x${string}`; topics: `0x${string}`[] }[]) {
  const abi = entryPointArtifact(VERSION, 'SimpleAccount').abi
  const out = new Map<string, Address>()
  for (const l of logs) {
    try {
      const ev = decodeEventLog({ abi, data: l.data, topics: l.topics as never })
      if (ev.eventName === 'SimpleAccountInitialized')
        out.set(String((ev.args as unknown as { owner: Address }).owner).toLowerCase(), l.address)
    } catch {
      // another event
    }
  }
  return out
}

/** Wall time spent inside wrapped calls, per phase (overlapping calls counted once, by span). */
class PhaseClock {
  private readonly active = new Map<string, { depth: number; since: number }>()
  readonly totals = new Map<string, number>()
  readonly calls = new Map<string, number>()

  async time<T>(phase: string, f: () => Promise<T>): Promise<T> {
    const a = this.active.get(phase) ?? { depth: 0, since: 0 }
    if (a.depth === 0) a.since = t()
    a.depth++
    this.active.set(phase, a)
    this.calls.set(phase, (this.calls.get(phase) ?? 0) + 1)
    try {
      return await f()
    } finally {
      a.depth--
      if (a.depth === 0) this.totals.set(phase, (this.totals.get(phase) ?? 0) + t() - a.since)
    }
  }

  reset(): void {
    this.totals.clear()
    this.calls.clear()
  }
}

/**
 * A client for the simulator whose every JSON-RPC call is timed per method (e.g. "rpc eth_call"),
 * so the re-simulation phase can be broken down into what it asks the node.
 */
function timedSimClient(chain: TestChain, clock: PhaseClock): PublicClient {
  const inner = http(chain.url)({ chain: chain.client.chain, retryCount: 0 })
  return createPublicClient({
    chain: chain.client.chain,
    transport: custom({
      request: ({ method, params }: { method: string; params?: unknown }) =>
        clock.time(`  rpc ${method}`, () => inner.request({ method, params } as never)),
    }),
  }) as PublicClient
}

/** The proposer over timing wrappers of its real dependencies. */
function timedProposer(chain: TestChain, pool: LocalPool, validator: Validator, clock: PhaseClock) {
  const chainSpec = chainSpecFor(chain.chainId)
  const fees = new FeeEstimator({ client: chain.client, chainSpec })
  const timedPool: Pool = Object.assign(Object.create(pool) as Pool, {
    getOps: (q: Parameters<Pool['getOps']>[0]) => clock.time('pool.getOps', () => pool.getOps(q)),
  })
  const timedValidator: Validator = {
    validate: (ep, op, opts) => clock.time('re-simulation (128 ops)', () => validator.validate(ep, op, opts)),
    // The proposer re-simulates a bundle in one call when the validator can (no tracer).
    ...(validator.validateMany
      ? {
          validateMany: (ep, ops, opts) =>
            clock.time('re-simulation (128 ops)', () => validator.validateMany!(ep, ops, opts)),
        }
      : {}),
  }
  const client = new Proxy(chain.client, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver)
      if (prop === 'call') return (args: never) => clock.time('handleOps eth_call', () => target.call(args))
      if (prop === 'getBalance' || prop === 'getBlock')
        return (args: never) =>
          clock.time(`${String(prop)}`, () => (v as (a: never) => Promise<unknown>).call(target, args))
      return v
    },
  }) as PublicClient
  return new BundleProposer({
    pool: timedPool,
    validator: timedValidator,
    fees: { estimate: () => clock.time('fee estimate', () => fees.estimate()) },
    client,
    chainSpec,
    settings: { ...DEFAULT_PROPOSER_SETTINGS, maxBundleSize: BUNDLE_SIZE, maxBundleGas: MAX_BUNDLE_GAS },
  })
}

async function timeBuilds(
  label: string,
  proposer: BundleProposer,
  clock: PhaseClock,
  signer: Address,
  entryPoint: Address,
  builds: number,
) {
  const times: number[] = []
  const phases = new Map<string, number[]>()
  let calls = new Map<string, number>()
  for (let i = 0; i < builds; i++) {
    clock.reset()
    const t0 = t()
    const p = await proposer.propose({ entryPoint, signer, shardIndex: 0 })
    times.push(t() - t0)
    if (p.kind !== 'bundle') throw new Error(`${label}: no bundle (${p.kind === 'none' ? p.reason : ''})`)
    const size = p.bundle.groups.reduce((n, g) => n + g.ops.length, 0)
    if (size !== BUNDLE_SIZE)
      throw new Error(`${label}: bundle of ${size} ops, not ${BUNDLE_SIZE}: ${describe(p.bundle)}`)
    for (const [k, v] of clock.totals) phases.set(k, [...(phases.get(k) ?? []), v])
    calls = new Map(clock.calls)
  }
  const median = percentile(times, 50)
  const p99 = percentile(times, 99)
  const lines = [
    `${label}: ${builds} builds of a ${BUNDLE_SIZE}-op bundle: median ${median.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, min ${Math.min(...times).toFixed(1)} ms` +
      (median <= TARGET_MEDIAN_MS
        ? `  (target ${TARGET_MEDIAN_MS} ms: met)`
        : `  (target ${TARGET_MEDIAN_MS} ms: MISSED)`),
    '  where the median build spends its time (wall time inside each dependency; the rest is the proposer itself):',
  ]
  let accounted = 0
  const byMedian = [...phases].sort((x, y) => percentile(y[1], 50) - percentile(x[1], 50))
  const row = (phase: string, values: number[]) =>
    `    ${phase.padEnd(28)} ${percentile(values, 50).toFixed(1).padStart(8)} ms  (${calls.get(phase) ?? 0} calls)`
  for (const [phase, values] of byMedian) {
    if (phase.startsWith(' ')) continue
    accounted += percentile(values, 50)
    lines.push(row(phase, values))
    if (phase.startsWith('re-simulation')) {
      // What the validator asked the node (spans of concurrent calls overlap: they need not add up).
      for (const [sub, v] of byMedian) if (sub.startsWith(' ')) lines.push(row(sub, v))
    }
  }
  const rest = Math.max(0, median - accounted)
  lines.push(`    ${'proposer itself (rest)'.padEnd(28)} ${rest.toFixed(1).padStart(8)} ms`)
  return lines.join('\n')
}

/**
 * What anvil alone needs for the second simulation: the bundle's 128 simulateValidation eth_calls
 * (state override included) at the proposer's concurrency, with no Conveyor code around them.
 */
async function nodeFloor(chain: TestChain, proposer: BundleProposer, signer: Address, entryPoint: Address) {
  const p = await proposer.propose({ entryPoint, signer, shardIndex: 0 })
  if (p.kind !== 'bundle') throw new Error('node floor: no bundle')
  const ops = p.bundle.groups.flatMap((g) => g.ops.map((c) => c.op))
  const blockNumber = await chain.client.getBlockNumber()
  const times: number[] = []
  for (let i = 0; i < 10; i++) {
    const t0 = t()
    await mapLimit(ops, DEFAULT_PROPOSER_SETTINGS.simulationConcurrency, (op) =>
      callSimulation(chain.client, {
        entryPoint,
        version: VERSION,
        data: encodeSimulateValidation(VERSION, op),
        blockNumber,
        stateOverride: withSimulationCode(VERSION, entryPoint),
      }),
    )
    times.push(t() - t0)
  }
  return (
    `node floor: ${ops.length} simulateValidation eth_calls alone (${DEFAULT_PROPOSER_SETTINGS.simulationConcurrency} in flight): ` +
    `median ${percentile(times, 50).toFixed(1)} ms (${(percentile(times, 50) / ops.length).toFixed(2)} ms per op: anvil runs eth_call one at a time)`
  )
}

function describe(b: Bundle): string {
  return `gas ${b.tx.gas}, ${b.groups.length} group(s)`
}

async function main() {
  const started = t()
  // A roomy block gas limit only speeds up deployment; the bundle cap stays the 2^24 per-tx cap.
  const chain = await startTestChain({ gasLimit: 300_000_000n })
  try {
    const entryPoint = chain.deployment.entryPoints[VERSION]
    let t0 = t()
    const accounts = await deployAccounts(chain, POOL_OPS)
    log(`deployed and funded ${accounts.length} SimpleAccounts in ${((t() - t0) / 1000).toFixed(1)} s`)

    const chainSpec = chainSpecFor(chain.chainId)
    const simSettings = defaultSimSettings(chainSpec)
    const base = await currentFees(chain)
    const est = await new GasEstimatorImpl({ client: chain.client, settings: simSettings }).estimate(
      entryPoint,
      {
        ...(
          await nextOp(
            chain,
            VERSION,
            accounts[0]!,
            { verificationGasLimit: 500_000n, callGasLimit: 100_000n },
            base,
          )
        ).op,
      },
    )
    const gas = { verificationGasLimit: est.verificationGasLimit, callGasLimit: est.callGasLimit }
    log(`op gas from the estimator: verification ${gas.verificationGasLimit}, call ${gas.callGasLimit}`)

    t0 = t()
    const ops = await mapLimit(accounts, 8, (a, i) => {
      // Distinct tips, so the pool's ordering has work to do; maxFee leaves room above the base fee.
      const tip = base.maxPriorityFeePerGas + BigInt((i * 7919) % 10_000) * 100_000n
      return nextOp(chain, VERSION, a, gas, {
        maxPriorityFeePerGas: tip,
        maxFeePerGas: base.maxFeePerGas * 2n + tip,
      })
    })
    log(`signed ${ops.length} ops in ${((t() - t0) / 1000).toFixed(1)} s`)

    const simulator = new Simulator({ client: chain.client, settings: simSettings })
    const pool = new LocalPool({
      settings: { chainId: chain.chainId, blockPollIntervalMs: 1000, maxPoolOps: POOL_OPS * 2 },
      client: chain.client,
      validator: simulator,
      entryPoints: [entryPoint],
    })
    await pool.start()
    try {
      t0 = t()
      await mapLimit(ops, ADMIT_CONCURRENCY, (b) => pool.addOp(entryPoint, b.op))
      const admitS = (t() - t0) / 1000
      log(
        `admitted ${ops.length} ops through simulation in ${admitS.toFixed(1)} s (${Math.round(ops.length / admitS)} ops/s)`,
      )

      const signer = newOwner().address
      await chain.client.request({
        method: 'anvil_setBalance' as never,
        params: [signer, '0x3635c9adc5dea00000'] as never,
      })
      const clock = new PhaseClock()
      const simClient = timedSimClient(chain, clock)
      const plainSim = new Simulator({ client: simClient, settings: simSettings })
      const plain = timedProposer(chain, pool, plainSim, clock)
      // Two unmeasured builds warm the JIT and the HTTP connections.
      for (let i = 0; i < 2; i++) await plain.propose({ entryPoint, signer, shardIndex: 0 })
      const report = [
        await timeBuilds('plain simulation (eth_call)', plain, clock, signer, entryPoint, BUILDS),
      ]

      report.push(await nodeFloor(chain, plain, signer, entryPoint))

      if (TRACED_BUILDS > 0) {
        const mode = await createValidationMode({ unsafe: false, client: simClient, logger: silentLogger })
        const traced = new Simulator({ client: simClient, settings: simSettings, ...mode })
        const tracedProposer = timedProposer(chain, pool, traced, clock)
        report.push(
          await timeBuilds(
            'traced simulation (ERC-7562, safe mode)',
            tracedProposer,
            clock,
            signer,
            entryPoint,
            TRACED_BUILDS,
          ),
        )
      }
      const pooled = (await pool.dumpMempool(entryPoint)).length
      process.stdout.write(
        `\nBundleProposer.propose on anvil, pool of ${POOL_OPS.toLocaleString('en')} real SimpleAccount ops (v0.7), one shard\n\n${report.join('\n\n')}\n\n` +
          `ops still pooled after the builds: ${pooled.toLocaleString('en')}\ntotal run time ${((t() - started) / 1000).toFixed(0)} s\n`,
      )
    } finally {
      await pool.stop()
    }
  } finally {
    await chain.stop()
  }
}

await main()
