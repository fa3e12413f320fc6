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
import { startTestChain } from '../test/harness/chain.js'
import { deployedAccountOps, printTiming, timeEach } from './support/timing.js'

const OPS = Number(process.argv[2] ?? 200)
const CONCURRENCY = Number(process.argv[3] ?? 8)
const VERSION: EntryPointVersion = 'v0.7'
const PVG = 100_000n

async function main() {
  const chain = await startTestChain()
  try {
    const settings = defaultSimSettings(chainSpecFor(chain.chainId))
    const simulator = new Simulator({ client: chain.client, settings })
    const estimator = new GasEstimatorImpl({ client: chain.client, settings })
    const ep = chain.deployment.entryPoints[VERSION]
    console.log(`Conveyor admission validation, EntryPoint ${VERSION}, anvil at ${chain.url}, ${OPS} ops`)

    const deployed = await deployedAccountOps(chain, VERSION, OPS, PVG)
    const firsts: UserOperation[] = []
    for (let i = 0; i < OPS; i++)
      firsts.push(
        (await buildOp(chain, VERSION, { owner: newOwner(), overrides: { preVerificationGas: PVG } })).op,
      )

    const validate = (op: UserOperation) => simulator.validate(ep, op)
    await timeEach(deployed.slice(0, 10), 1, validate) // warm-up
    printTiming('validate, deployed account, sequential', await timeEach(deployed, 1, validate))
    printTiming(
      `validate, deployed account, ${CONCURRENCY} in flight`,
      await timeEach(deployed, CONCURRENCY, validate),
    )
    printTiming('validate, first op (factory), sequential', await timeEach(firsts, 1, validate))
    printTiming(
      `validate, first op (factory), ${CONCURRENCY} in flight`,
      await timeEach(firsts, CONCURRENCY, validate),
    )

    const drafts = firsts.slice(0, Math.min(40, OPS))
    printTiming(
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
