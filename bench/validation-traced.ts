/**
 * Traced admission benchmark: Simulator.validate with Conveyor's ERC-7562 JS tracer and rule
 * checker for a SimpleAccount op (deployed account, EntryPoint v0.7) on a local anvil: latency
 * (median, p99) one at a time, throughput with several in flight, and for comparison the plain
 * eth_call path and the tracer's floor on this node (a JS tracer whose step does nothing).
 *   npx tsx bench/validation-traced.ts [ops=60] [concurrency=4]
 */
import { numberToHex } from 'viem'
import { chainSpecFor } from '../src/chain/chain-spec.js'
import type { EntryPointVersion } from '../src/chain/entrypoint.js'
import type { UserOperation } from '../src/chain/userop.js'
import { Erc7562RuleChecker } from '../src/sim/rules/checker.js'
import { defaultSimSettings } from '../src/sim/settings.js'
import { encodeSimulateValidation, withSimulationCode } from '../src/sim/sim-call.js'
import { Simulator } from '../src/sim/simulator.js'
import { JsValidationTracer } from '../src/sim/tracer/js-tracer.js'
import { buildOp, newOwner } from '../test/harness/account.js'
import { bundleOps } from '../test/harness/bundle.js'
import { startTestChain, type TestChain } from '../test/harness/chain.js'

const OPS = Number(process.argv[2] ?? 60)
const CONCURRENCY = Number(process.argv[3] ?? 4)
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
        const item = items[next++] as T
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
    `${label.padEnd(48)} median ${r.median.toFixed(1).padStart(7)} ms   p99 ${r.p99.toFixed(1).padStart(7)} ms   ${r.perSecond.toFixed(1).padStart(6)} ops/s`,
  )
}

async function deployedOps(chain: TestChain, n: number): Promise<UserOperation[]> {
  const owners = Array.from({ length: n }, newOwner)
  for (let i = 0; i < owners.length; i += 16) {
    const firsts = await Promise.all(
      owners.slice(i, i + 16).map(async (owner) => (await buildOp(chain, VERSION, { owner })).op),
    )
    await bundleOps(chain, VERSION, firsts)
  }
  const ops: UserOperation[] = []
  for (const owner of owners)
    ops.push((await buildOp(chain, VERSION, { owner, overrides: { preVerificationGas: PVG } })).op)
  return ops
}

const chain = await startTestChain()
try {
  const settings = defaultSimSettings(chainSpecFor(chain.chainId))
  const entryPoint = chain.deployment.entryPoints[VERSION]
  const traced = new Simulator({
    client: chain.client,
    settings,
    tracer: new JsValidationTracer(chain.client),
    ruleChecker: new Erc7562RuleChecker(),
  })
  const plain = new Simulator({ client: chain.client, settings })
  const ops = await deployedOps(chain, OPS)
  const validate = (s: Simulator) => async (op: UserOperation) => {
    const r = await s.validate(entryPoint, op)
    if (r.accountSigFailed) throw new Error('signature failed')
  }
  await validate(traced)(ops[0] as UserOperation) // warm-up
  console.log(`SimpleAccount ${VERSION} op, deployed account, ${OPS} ops, anvil on 127.0.0.1`)
  line('traced admission, sequential', await timeEach(ops, 1, validate(traced)))
  line(`traced admission, ${CONCURRENCY} in flight`, await timeEach(ops, CONCURRENCY, validate(traced)))
  line('plain eth_call admission, sequential', await timeEach(ops, 1, validate(plain)))
  const block = numberToHex(await chain.client.getBlockNumber())
  const floor = `{ step() {}, fault() {}, result() { return 1 } }`
  const noStep = `{ enter() {}, exit() {}, fault() {}, result() { return 1 } }`
  const rawTrace = (tracer: string) => async (op: UserOperation) =>
    chain.client.request({
      method: 'debug_traceCall',
      params: [
        { to: entryPoint, data: encodeSimulateValidation(VERSION, op) },
        block,
        { tracer, stateOverrides: withSimulationCode(VERSION, entryPoint) },
      ],
    } as never)
  line('node floor: JS tracer with an empty step', await timeEach(ops.slice(0, 20), 1, rawTrace(floor)))
  line('node floor: JS tracer without step', await timeEach(ops.slice(0, 20), 1, rawTrace(noStep)))
} finally {
  await chain.stop()
}
