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
import { startTestChain } from '../test/harness/chain.js'
import { deployedAccountOps, printTiming, timeEach } from './support/timing.js'

const OPS = Number(process.argv[2] ?? 60)
const CONCURRENCY = Number(process.argv[3] ?? 4)
const VERSION: EntryPointVersion = 'v0.7'
const PVG = 100_000n

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
  const ops = await deployedAccountOps(chain, VERSION, OPS, PVG)
  const validate = (s: Simulator) => async (op: UserOperation) => {
    const r = await s.validate(entryPoint, op)
    if (r.accountSigFailed) throw new Error('signature failed')
  }
  await validate(traced)(ops[0] as UserOperation) // warm-up
  console.log(`SimpleAccount ${VERSION} op, deployed account, ${OPS} ops, anvil on 127.0.0.1`)
  printTiming('traced admission, sequential', await timeEach(ops, 1, validate(traced)))
  printTiming(
    `traced admission, ${CONCURRENCY} in flight`,
    await timeEach(ops, CONCURRENCY, validate(traced)),
  )
  printTiming('plain eth_call admission, sequential', await timeEach(ops, 1, validate(plain)))
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
  printTiming(
    'node floor: JS tracer with an empty step',
    await timeEach(ops.slice(0, 20), 1, rawTrace(floor)),
  )
  printTiming('node floor: JS tracer without step', await timeEach(ops.slice(0, 20), 1, rawTrace(noStep)))
} finally {
  await chain.stop()
}
