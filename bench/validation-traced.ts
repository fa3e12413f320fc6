/**
 * Traced admission benchmark: Simulator.validate in safe mode (ERC-7562 traces and rules) for a
 * SimpleAccount op (deployed account, EntryPoint v0.7) on a local anvil, per tracing path, all in
 * one run: the JS tracer, and the native path (prestateTracer + in-process replay on
 * @ethereumjs/evm, confirmed by eth_call). Latency (median, p99) one at a time, throughput with
 * several in flight, the native path's time split (node / replay), the bundle's re-simulation
 * (validateMany), and the candidates' node-side floors: the struct logger with memory and storage
 * off (the other native candidate), prestateTracer alone, eth_call, a JS tracer whose step is empty.
 *   npx tsx bench/validation-traced.ts [ops=60] [concurrency=4]
 */
import pino from 'pino'
import { numberToHex } from 'viem'
import { chainSpecFor } from '../src/chain/chain-spec.js'
import type { EntryPointVersion } from '../src/chain/entrypoint.js'
import type { UserOperation } from '../src/chain/userop.js'
import { Erc7562RuleChecker } from '../src/sim/rules/checker.js'
import { defaultSimSettings } from '../src/sim/settings.js'
import { encodeSimulateValidation, withSimulationCode } from '../src/sim/sim-call.js'
import { Simulator } from '../src/sim/simulator.js'
import { JsValidationTracer } from '../src/sim/tracer/js-tracer.js'
import { createValidationMode } from '../src/sim/tracer/mode.js'
import type { TraceTiming } from '../src/sim/tracer/native/native-tracer.js'
import type { ValidationTracer } from '../src/sim/tracer-seam.js'
import { startTestChain } from '../test/harness/chain.js'
import { deployedAccountOps, percentile, printTiming, timeEach } from './support/timing.js'

const OPS = Number(process.argv[2] ?? 60)
const CONCURRENCY = Number(process.argv[3] ?? 4)
const VERSION: EntryPointVersion = 'v0.7'
const PVG = 100_000n

const chain = await startTestChain()
try {
  const settings = defaultSimSettings(chainSpecFor(chain.chainId))
  const entryPoint = chain.deployment.entryPoints[VERSION]
  const timings: TraceTiming[] = []
  const mode = await createValidationMode({
    unsafe: false,
    tracer: 'native',
    client: chain.client,
    chainId: chain.chainId,
    logger: pino({ level: 'silent' }),
    observe: (t) => timings.push(t),
  })
  const simulator = (tracer?: ValidationTracer) =>
    new Simulator({ client: chain.client, settings, tracer, ruleChecker: new Erc7562RuleChecker() })
  const js = simulator(new JsValidationTracer(chain.client))
  const native = simulator(mode.tracer)
  const plain = new Simulator({ client: chain.client, settings })
  const ops = await deployedAccountOps(chain, VERSION, OPS, PVG)
  // Fresh ops for the concurrent native run: the native source reuses the trace of an op it has
  // already replayed at unchanged state, which is the bundle's case, not admission's.
  const moreOps = await deployedAccountOps(chain, VERSION, OPS, PVG)
  const validate = (s: Simulator) => async (op: UserOperation) => {
    const r = await s.validate(entryPoint, op)
    if (r.accountSigFailed) throw new Error('signature failed')
  }
  for (const s of [js, native, plain]) await timeEach(ops.slice(0, 10), 1, validate(s)) // warm-up
  timings.length = 0
  console.log(`SimpleAccount ${VERSION} op, deployed account, ${OPS} ops, anvil on 127.0.0.1, one run`)
  console.log(`native path: ${mode.tracer?.name}`)
  printTiming('native traced admission, sequential', await timeEach(ops, 1, validate(native)))
  const nodeMs = timings.map((t) => t.nodeMs)
  const replayMs = timings.map((t) => t.replayMs)
  console.log(
    `  of which node (prestate ∥ eth_call) median ${percentile(nodeMs, 50).toFixed(1)} ms, replay median ${percentile(replayMs, 50).toFixed(1)} ms, p99 ${percentile(replayMs, 99).toFixed(1)} ms, ${timings.filter((t) => !t.confirmed).length} unconfirmed`,
  )
  printTiming(
    `native traced admission, ${CONCURRENCY} in flight`,
    await timeEach(moreOps, CONCURRENCY, validate(native)),
  )
  printTiming('JS traced admission, sequential', await timeEach(ops, 1, validate(js)))
  printTiming(`JS traced admission, ${CONCURRENCY} in flight`, await timeEach(ops, CONCURRENCY, validate(js)))
  printTiming('plain eth_call admission (unsafe), sequential', await timeEach(ops, 1, validate(plain)))

  const head = await chain.client.getBlockNumber()
  const bundle = ops.slice(0, Math.min(32, ops.length))
  const many = (s: Simulator) => async () => {
    const out = await s.validateMany!(entryPoint, bundle, { blockNumber: head })
    if (!out.every((o) => o.ok)) throw new Error('re-simulation rejected an op')
  }
  const runs = Array.from({ length: 5 }, (_, i) => i)
  printTiming(
    `re-simulation of ${bundle.length} ops, native (batched)`,
    await timeEach(runs, 1, many(native)),
  )
  printTiming(`re-simulation of ${bundle.length} ops, JS`, await timeEach(runs, 1, many(js)))
  printTiming(`re-simulation of ${bundle.length} ops, unsafe`, await timeEach(runs, 1, many(plain)))

  const block = numberToHex(await chain.client.getBlockNumber())
  const node = (config: Record<string, unknown>) => async (op: UserOperation) =>
    chain.client.request({
      method: 'debug_traceCall',
      params: [
        { to: entryPoint, data: encodeSimulateValidation(VERSION, op) },
        block,
        { ...config, stateOverrides: withSimulationCode(VERSION, entryPoint) },
      ],
    } as never)
  const sample = ops.slice(0, 20)
  console.log('node-side floors of the candidates (the call alone, nothing done with the answer):')
  printTiming(
    'struct logger, memory and storage off',
    await timeEach(sample, 1, node({ disableMemory: true, disableStorage: true, enableReturnData: false })),
  )
  printTiming('prestateTracer', await timeEach(sample, 1, node({ tracer: 'prestateTracer' })))
  printTiming(
    'JS tracer with an empty step',
    await timeEach(sample, 1, node({ tracer: '{ step() {}, fault() {}, result() { return 1 } }' })),
  )
  printTiming(
    'eth_call',
    await timeEach(sample, 1, (op) =>
      chain.client.request({
        method: 'eth_call',
        params: [
          { to: entryPoint, data: encodeSimulateValidation(VERSION, op) },
          block,
          withSimulationCode(VERSION, entryPoint) as never,
        ],
      } as never),
    ),
  )
} finally {
  await chain.stop()
}
