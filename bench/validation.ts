/**
 * Admission validation benchmark: latency (median, p99) of Simulator.validate for a SimpleAccount
 * op against a local anvil, sequentially and with several in flight (throughput), for a deployed
 * account and for a first op (factory), plus eth_estimateUserOperationGas latency.
 *   npx tsx bench/validation.ts [ops=200] [concurrency=8]
 */
import { chainSpecFor } from '../src/chain/chain-spec.js'
import type { EntryPointVersion } from '../src/chain/entrypoint.js'
import type { UserOperation } from '../src/chain/userop.js'
import { GasEstimatorImpl } from '../src/sim/estimator.js'
import { defaultSimSettings } from '../src/sim/settings.js'
import { Simulator } from '../src/sim/simulator.js'
import { buildOp, newOwner } from '../test/harness/account.js'
import { bundleOps } from '../test/harness/bundle.js'
import { startTestChain, type TestChain } from '../test/harness/chain.js'

const OPS = Number(process.argv[2] ?? 200)
const CONCURRENCY = Number(process.argv[3] ?? 8)
const VERSION: EntryPointVersion = 'v0.7'
const PVG = 100_000n

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN
}

async function timeEach<T>(items: T[], concurrency: number, f: (x: T) => Promise<unknown>) {
  const latencies: number[] = []
  let next = 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const item = items[next++]!
        const t = performance.now()
        await f(item)
        latencies.push(performance.now() - t)
      }
    }),
  )
  const wall = performance.now() - started
  latencies.sort((a, b) => a - b)
  return {
    median: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    perSecond: (items.length / wall) * 1000,
  }
}

function line(label: string, r: { median: number; p99: number; perSecond: number }) {
  console.log(
    `${label.padEnd(44)} median ${r.median.toFixed(2).padStart(7)} ms   p99 ${r.p99.toFixed(2).padStart(7)} ms   ${r.perSecond.toFixed(0).padStart(5)} ops/s`,
  )
}

async function deployedOps(chain: TestChain, n: number): Promise<UserOperation[]> {
  const owners = Array.from({ length: n }, newOwner)
  // Deploy the accounts in bundles of 16, then build one fresh op each.
  for (let i = 0; i < owners.length; i += 16) {
    const firsts = await Promise.all(
      owners.slice(i, i + 16).map(async (owner) => (await buildOp(chain, VERSION, { owner })).op),
    )
    const mined = await bundleOps(chain, VERSION, firsts)
    if (!mined.events.every((e) => e.success)) throw new Error('account deployment failed')
  }
  const ops: UserOperation[] = []
  for (const owner of owners)
    ops.push((await buildOp(chain, VERSION, { owner, overrides: { preVerificationGas: PVG } })).op)
  return ops
}

async function main() {
  const chain = await startTestChain()
  try {
    const settings = defaultSimSettings(chainSpecFor(chain.chainId))
    const simulator = new Simulator({ client: chain.client, settings })
    const estimator = new GasEstimatorImpl({ client: chain.client, settings })
    const ep = chain.deployment.entryPoints[VERSION]
    console.log(`Conveyor admission validation, EntryPoint ${VERSION}, anvil at ${chain.url}, ${OPS} ops`)

    const deployed = await deployedOps(chain, OPS)
    const firsts: UserOperation[] = []
    for (let i = 0; i < OPS; i++)
      firsts.push(
        (await buildOp(chain, VERSION, { owner: newOwner(), overrides: { preVerificationGas: PVG } })).op,
      )

    const validate = (op: UserOperation) => simulator.validate(ep, op)
    await timeEach(deployed.slice(0, 10), 1, validate) // warm-up
    line('validate, deployed account, sequential', await timeEach(deployed, 1, validate))
    line(
      `validate, deployed account, ${CONCURRENCY} in flight`,
      await timeEach(deployed, CONCURRENCY, validate),
    )
    line('validate, first op (factory), sequential', await timeEach(firsts, 1, validate))
    line(
      `validate, first op (factory), ${CONCURRENCY} in flight`,
      await timeEach(firsts, CONCURRENCY, validate),
    )

    const drafts = firsts.slice(0, Math.min(40, OPS))
    line(
      'estimate, first op (factory), sequential',
      await timeEach(drafts, 1, (op) => estimator.estimate(ep, op)),
    )
    const sample = await estimator.estimate(ep, deployed[0]!)
    console.log(
      `estimate of a deployed-account op: verificationGasLimit ${sample.verificationGasLimit}, callGasLimit ${sample.callGasLimit}, preVerificationGas ${sample.preVerificationGas}`,
    )
  } finally {
    await chain.stop()
  }
}

await main()
