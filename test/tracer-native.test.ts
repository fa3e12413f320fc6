import { createPublicClient, http, type PublicClient, pad } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chainSpecFor } from '../src/chain/chain-spec.js'
import { entryPointOfVersion } from '../src/chain/entrypoint/registry.js'
import { ENTRY_POINT_VERSIONS, type EntryPointVersion } from '../src/chain/entrypoint.js'
import { Erc7562RuleChecker } from '../src/sim/rules/checker.js'
import { defaultSimSettings } from '../src/sim/settings.js'
import {
  callSimulation,
  encodeSimulateValidation,
  type SimulationCall,
  withSimulationCode,
} from '../src/sim/sim-call.js'
import { Simulator } from '../src/sim/simulator.js'
import { CheckedTracer } from '../src/sim/tracer/checked.js'
import { JsValidationTracer } from '../src/sim/tracer/js-tracer.js'
import { createValidationMode, TracerUnsupportedError } from '../src/sim/tracer/mode.js'
import {
  NativeValidationTracer,
  ReplayMismatchError,
  type TraceTiming,
} from '../src/sim/tracer/native/native-tracer.js'
import { probeNativeSupport } from '../src/sim/tracer/native/probe.js'
import type { Prestate } from '../src/sim/tracer/native/replay-state.js'
import { RpcCode, RpcError } from '../src/util/errors.js'
import { buildOp, newOwner } from './harness/account.js'
import { bundleOps } from './harness/bundle.js'
import { startTestChain, type TestChain } from './harness/chain.js'
import { captureLog } from './support/log-capture.js'
import {
  type NativeOnlyNode,
  type NativeOnlyOptions,
  startNativeOnlyNode,
} from './support/native-only-node.js'

/**
 * The native trace source (prestateTracer + in-process replay, confirmed by eth_call) on a real
 * anvil: the same traces as the JS tracer, refusal of a replay the node disagrees with, and the
 * start-up choice between the paths on nodes that offer different tracers.
 */
let chain: TestChain
const proxies: NativeOnlyNode[] = []

beforeAll(async () => {
  chain = await startTestChain()
}, 60_000)
afterAll(async () => {
  for (const p of proxies) await p.stop()
  await chain?.stop()
})

async function proxied(
  opts: NativeOnlyOptions = {},
): Promise<{ node: NativeOnlyNode; client: PublicClient }> {
  const node = await startNativeOnlyNode(chain.url, opts)
  proxies.push(node)
  return {
    node,
    client: createPublicClient({ transport: http(node.url, { retryCount: 0 }) }) as PublicClient,
  }
}

async function nativeTracer(client = chain.client, observe?: (t: TraceTiming) => void) {
  const support = await probeNativeSupport(client, chain.chainId)
  if (!support.ok) throw new Error(support.reason)
  return new NativeValidationTracer({ client, engine: support.engine, observe })
}

async function simulationCall(version: EntryPointVersion, opts: { deployed?: boolean; nonce?: bigint } = {}) {
  const owner = newOwner()
  if (opts.deployed) await bundleOps(chain, version, [(await buildOp(chain, version, { owner })).op])
  const { op } = await buildOp(chain, version, {
    owner,
    overrides: { preVerificationGas: 100_000n, ...(opts.nonce !== undefined ? { nonce: opts.nonce } : {}) },
  })
  const entryPoint = chain.deployment.entryPoints[version]
  const call: SimulationCall = {
    entryPoint,
    version,
    op,
    phaseSelectors: entryPointOfVersion(version).simulation.phaseSelectors,
    data: encodeSimulateValidation(version, op),
    blockNumber: await chain.client.getBlockNumber(),
    stateOverride: withSimulationCode(version, entryPoint),
  }
  return { op, call }
}

const json = (x: unknown) =>
  JSON.parse(JSON.stringify(x, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)))

describe.each(ENTRY_POINT_VERSIONS)('native trace source on anvil %s', (version) => {
  it.each([
    ['a first op (factory and account phases)', false],
    ['a deployed account', true],
  ])('gives the JS tracer’s trace for %s, with its timings', async (_name, deployed) => {
    const { call } = await simulationCall(version, { deployed })
    const timings: TraceTiming[] = []
    const native = await (await nativeTracer(chain.client, (t) => timings.push(t))).trace(call)
    const js = await new JsValidationTracer(chain.client).trace(call)
    expect(json(native)).toEqual(json(js))
    expect(native.phases.map((p) => p.phase)).toEqual(deployed ? ['account'] : ['factory', 'account'])
    expect(timings).toHaveLength(1)
    expect(timings[0]).toMatchObject({ source: 'native', confirmed: true })
    expect(timings[0]?.replayMs).toBeGreaterThan(0)
  })

  it('returns the revert data of a failing simulation exactly as eth_call does', async () => {
    const { call } = await simulationCall(version, { deployed: true, nonce: 7n })
    const trace = await (await nativeTracer()).trace(call)
    const plain = await callSimulation(chain.client, call)
    // v0.6's simulateValidation reverts with its result too: the module tells a failure apart.
    expect(entryPointOfVersion(version).simulation.decodeValidation(plain, call.op!).ok).toBe(false)
    expect(trace.outcome).toEqual(plain)
  })
})

describe('the bundle’s second simulation on the native path', () => {
  it('reuses the admission trace when nothing the op read has changed, and replays when it has', async () => {
    const version = 'v0.7'
    const entryPoint = chain.deployment.entryPoints[version]
    const timings: TraceTiming[] = []
    const tracer = await nativeTracer(chain.client, (t) => timings.push(t))
    const settings = defaultSimSettings(chainSpecFor(chain.chainId))
    const sim = new Simulator({
      client: chain.client,
      settings,
      tracer,
      ruleChecker: new Erc7562RuleChecker(),
    })
    const a = await simulationCall(version, { deployed: true })
    const b = await simulationCall(version, { deployed: true })
    const admitted = [await sim.validate(entryPoint, a.op), await sim.validate(entryPoint, b.op)]
    expect(timings.map((t) => t.reused)).toEqual([false, false])
    await chain.client.request({ method: 'evm_mine' as never, params: [] as never })
    // B's account changes its owner slot meanwhile: its validation now reads another value.
    await chain.client.request({
      method: 'anvil_setStorageAt' as never,
      params: [b.op.sender, pad('0x00', { size: 32 }), pad(newOwner().address, { size: 32 })] as never,
    })
    timings.length = 0
    const block = await chain.client.getBlockNumber({ cacheTime: 0 })
    const again = await sim.validateMany(entryPoint, [a.op, b.op], { blockNumber: block })
    expect(timings.map((t) => [t.reused, t.confirmed])).toEqual([
      [true, true],
      [false, true],
    ])
    expect(again[0]).toMatchObject({ ok: true, result: { preOpGas: admitted[0]?.preOpGas } })
    // B's new owner did not sign it: the fresh replay, not the remembered trace, says so.
    expect(again[1]).toMatchObject({ ok: false, error: { code: RpcCode.InvalidSignature } })
  })
})

describe('a replay the node disagrees with', () => {
  /** A node whose prestateTracer forgets the storage of every account: the replay goes astray. */
  const forgetStorage = (tracer: string | undefined, result: unknown) => {
    if (tracer !== 'prestateTracer') return result
    const out: Prestate = {}
    for (const [a, v] of Object.entries(result as Prestate)) out[a] = { ...v, storage: {} }
    return out
  }

  it('is never used: the native source throws, the JS tracer takes over where the node has one', async () => {
    const { client } = await proxied({ tamper: forgetStorage, refuse: [] })
    const { call } = await simulationCall('v0.7', { deployed: true })
    const timings: TraceTiming[] = []
    const native = await nativeTracer(client, (t) => timings.push(t))
    const err = await native.trace(call).catch((e) => e)
    expect(err).toBeInstanceOf(ReplayMismatchError)
    expect(timings[0]?.confirmed).toBe(false)

    const js = new JsValidationTracer(chain.client)
    const checked = new CheckedTracer(native, js)
    expect(json(await checked.trace(call))).toEqual(json(await js.trace(call)))
  })

  it('refuses the op with a clear error where the node has no JS tracer', async () => {
    const { client } = await proxied({ tamper: forgetStorage })
    const { call } = await simulationCall('v0.8', { deployed: true })
    const checked = new CheckedTracer(await nativeTracer(client), undefined)
    const err = await checked.trace(call).catch((e) => e)
    expect(err).toBeInstanceOf(RpcError)
    expect(err.code).toBe(RpcCode.InternalError)
    expect(err.message).toMatch(/rules could not be checked.*disagreed with the node.*no JavaScript tracer/)
    expect(err.data).toEqual({ reason: 'rules-unchecked' })
  })
})

describe('--sim.tracer at start-up', () => {
  const capture = () => captureLog<{ level: number; msg: string; tracer?: string; fallback?: string }>()

  it('auto on anvil: native, falling back to the JS tracer; logged', async () => {
    const { lines, logger } = capture()
    const mode = await createValidationMode({ unsafe: false, client: chain.client, logger })
    expect(mode.tracer?.name).toBe('native+js')
    expect(mode.ruleChecker).toBeDefined()
    expect(lines.find((l) => l.tracer)).toMatchObject({ tracer: 'native', fallback: 'js' })
  })

  it('js on anvil: the JS tracer alone', async () => {
    const { lines, logger } = capture()
    const mode = await createValidationMode({ unsafe: false, tracer: 'js', client: chain.client, logger })
    expect(mode.tracer).toBeInstanceOf(JsValidationTracer)
    expect(lines.find((l) => l.tracer)?.tracer).toBe('js')
  })

  it('auto behind a node that refuses JS tracers: native, no fallback, and it says so', async () => {
    const { client, node } = await proxied()
    const { lines, logger } = capture()
    const mode = await createValidationMode({ unsafe: false, client, logger })
    expect(mode.tracer?.name).toBe('native')
    expect(node.refused).toBeGreaterThan(0)
    expect(lines.find((l) => l.tracer)?.msg).toMatch(/no JS tracer/)
  })

  it('a node with JS tracers but no prestateTracer: auto takes js, native refuses to start', async () => {
    const { client } = await proxied({ allowJs: true, refuse: ['prestateTracer'] })
    const { lines, logger } = capture()
    const mode = await createValidationMode({ unsafe: false, client, logger })
    expect(mode.tracer).toBeInstanceOf(JsValidationTracer)
    expect(lines.find((l) => l.tracer)).toMatchObject({ tracer: 'js' })
    const err = await createValidationMode({ unsafe: false, tracer: 'native', client, logger }).catch(
      (e) => e,
    )
    expect(err).toBeInstanceOf(TracerUnsupportedError)
    expect(err.message).toMatch(/--sim.tracer native: the native path does not work \(tracer not allowed/)
  })

  it('neither path: start-up refuses safe mode, naming both reasons and --unsafe', async () => {
    const { client } = await proxied({ refuse: ['prestateTracer'] })
    const err = await createValidationMode({ unsafe: false, client, logger: capture().logger }).catch(
      (e) => e,
    )
    expect(err).toBeInstanceOf(TracerUnsupportedError)
    expect(err.message).toMatch(/native path: .*JS tracer: /)
    expect(err.message).toContain('--unsafe')
  })

  it('finds the hardfork the node runs', async () => {
    const cancun = await startTestChain({ extraArgs: ['--hardfork', 'cancun'] })
    try {
      const support = await probeNativeSupport(cancun.client, cancun.chainId)
      expect(support.ok && support.hardfork).toBe('cancun')
    } finally {
      await cancun.stop()
    }
    const here = await probeNativeSupport(chain.client, chain.chainId)
    expect(here.ok && here.hardfork).toBe('osaka')
  }, 60_000)
})
