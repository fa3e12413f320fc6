import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { delegationOverride } from '../src/chain/eip7702.js'
import { entryPointOfVersion } from '../src/chain/entrypoint/registry.js'
import { mergeOverrides, type SimulationCall, withSimulationCode } from '../src/sim/sim-call.js'
import { JsValidationTracer } from '../src/sim/tracer/js-tracer.js'
import { NativeValidationTracer, type TraceTiming } from '../src/sim/tracer/native/native-tracer.js'
import { probeNativeSupport } from '../src/sim/tracer/native/probe.js'
import { newOwner } from './harness/account.js'
import { startTestChain, type TestChain } from './harness/chain.js'
import { build7702Op, implementation, signAuth } from './harness/eip7702.js'

/**
 * A 7702 op's validation traced with the delegation applied by state override: the native source
 * (prestateTracer + in-process replay, confirmed by the node's eth_call) gives the JS tracer's trace,
 * so safe mode admits 7702 ops on nodes without JS tracers too.
 */
let chain: TestChain
beforeAll(async () => {
  chain = await startTestChain()
}, 60_000)
afterAll(async () => {
  await chain?.stop()
})

const json = (x: unknown) =>
  JSON.parse(JSON.stringify(x, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)))

describe.each(['v0.8', 'v0.9'] as const)('7702 op validation traced on anvil %s', (version) => {
  it('native replay of the delegated sender equals the JS trace, confirmed (the account phase runs the delegate code)', async () => {
    const owner = newOwner()
    const auth = await signAuth(chain, owner, implementation(chain, version))
    const { op } = await build7702Op(chain, version, { owner, auth })
    const ep = entryPointOfVersion(version)
    const call: SimulationCall = {
      entryPoint: ep.address,
      version,
      op,
      phaseSelectors: ep.simulation.phaseSelectors,
      data: ep.simulation.validation(op),
      blockNumber: await chain.client.getBlockNumber(),
      stateOverride: mergeOverrides(delegationOverride(op), withSimulationCode(version, ep.address)),
    }
    const support = await probeNativeSupport(chain.client, chain.chainId)
    if (!support.ok) throw new Error(support.reason)
    const timings: TraceTiming[] = []
    const native = await new NativeValidationTracer({
      client: chain.client,
      engine: support.engine,
      observe: (t) => timings.push(t),
    }).trace(call)
    const js = await new JsValidationTracer(chain.client).trace(call)
    expect(json(native)).toEqual(json(js))
    expect(timings[0]).toMatchObject({ source: 'native', confirmed: true })
    expect(ep.simulation.decodeValidation(native.outcome, op).ok).toBe(true)
    expect(native.phases.map((p) => p.phase)).toContain('account')
  })
})
