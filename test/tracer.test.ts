import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createPublicClient, getAddress, http, keccak256, type PublicClient } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { entryPointOfVersion } from '../src/chain/entrypoint/registry.js'
import { ENTRY_POINT_VERSIONS, type EntryPointVersion } from '../src/chain/entrypoint.js'
import {
  callSimulation,
  encodeSimulateValidation,
  type SimulationCall,
  withSimulationCode,
} from '../src/sim/sim-call.js'
import { JsValidationTracer } from '../src/sim/tracer/js-tracer.js'
import { createValidationMode, TracerUnsupportedError } from '../src/sim/tracer/mode.js'
import { probeTracerSupport } from '../src/sim/tracer/probe.js'
import { buildOp, newOwner } from './harness/account.js'
import { startTestChain, type TestChain } from './harness/chain.js'
import { captureLog } from './support/log-capture.js'

let chain: TestChain
let noTracer: Server
let noTracerClient: PublicClient

beforeAll(async () => {
  chain = await startTestChain()
  // A node that answers everything but debug_traceCall (as a node without JS tracers would).
  noTracer = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => {
      body += c
    })
    req.on('end', () => {
      const { id, method } = JSON.parse(body)
      res.setHeader('content-type', 'application/json')
      if (method === 'eth_blockNumber') res.end(JSON.stringify({ jsonrpc: '2.0', id, result: '0x1' }))
      else
        res.end(
          JSON.stringify({
            jsonrpc: '2.0',
            id,
            error: { code: -32601, message: `method ${method} not found` },
          }),
        )
    })
  })
  await new Promise<void>((r) => noTracer.listen(0, '127.0.0.1', r))
  const port = (noTracer.address() as AddressInfo).port
  noTracerClient = createPublicClient({
    transport: http(`http://127.0.0.1:${port}`, { retryCount: 0 }),
  }) as PublicClient
})
afterAll(async () => {
  await chain?.stop()
  await new Promise((r) => noTracer?.close(r))
})

async function simulationCall(
  version: EntryPointVersion,
  over: Parameters<typeof buildOp>[2]['overrides'] = {},
) {
  const { op, sender } = await buildOp(chain, version, {
    owner: newOwner(),
    overrides: { preVerificationGas: 100_000n, ...over },
  })
  const entryPoint = chain.deployment.entryPoints[version]
  const module = entryPointOfVersion(version)
  const call: SimulationCall = {
    op,
    phaseSelectors: module.simulation.phaseSelectors,
    entryPoint,
    version,
    data: encodeSimulateValidation(version, op),
    blockNumber: await chain.client.getBlockNumber(),
    stateOverride: withSimulationCode(version, entryPoint),
  }
  return { op, sender, call }
}

describe.each(ENTRY_POINT_VERSIONS)('JsValidationTracer on anvil %s', (version: EntryPointVersion) => {
  it('returns the plain call outcome and splits a first SimpleAccount op into factory and account phases', async () => {
    const { op, sender, call } = await simulationCall(version)
    const trace = await new JsValidationTracer(chain.client).trace(call)
    expect(trace.outcome).toEqual(await callSimulation(chain.client, call))
    // v0.6's simulateValidation reverts with its result: the module decodes it as a success.
    expect(entryPointOfVersion(version).simulation.decodeValidation(trace.outcome, op).ok).toBe(true)
    expect(trace.phases.map((p) => [p.phase, p.entity])).toEqual([
      ['factory', op.factory],
      ['account', sender],
    ])
    const [factory, account] = trace.phases
    // The factory's one CREATE2 deploys the sender; the account checks its signature with ecrecover.
    expect(factory?.calls.filter((c) => c.type === 'CREATE2').map((c) => c.to)).toEqual([sender])
    expect(account?.codeAccess['0x0000000000000000000000000000000000000001']?.codeSize).toBe(0)
    expect(account?.opcodes.SLOAD).toBeGreaterThan(0)
    // No banned opcode from the EntryPoint's own code leaks into the phases.
    for (const p of trace.phases)
      for (const op of ['TIMESTAMP', 'NUMBER', 'GAS']) expect(p.opcodes[op]).toBeUndefined()
    // The SimpleAccount implementation behind the proxy is hashed as it is on chain.
    const impl = factory?.calls.find((c) => c.type === 'DELEGATECALL')?.to
    expect(impl).toBeDefined()
    const implCode = await chain.client.getCode({ address: impl as `0x${string}` })
    expect(trace.codeHashes[getAddress(impl as string)]).toBe(keccak256(implCode ?? '0x'))
    expect(trace.codeHashes[getAddress(call.entryPoint)]).toBeUndefined()
    // The owner slot the account read is part of the storage the builder re-checks.
    expect(Object.keys(trace.storageReads[sender] ?? {}).length).toBeGreaterThan(0)
  })

  it('returns the revert data of a failing simulation exactly as eth_call does', async () => {
    const { call } = await simulationCall(version, { nonce: 5n })
    const trace = await new JsValidationTracer(chain.client).trace(call)
    const plain = await callSimulation(chain.client, call)
    expect(entryPointOfVersion(version).simulation.decodeValidation(plain, call.op!).ok).toBe(false)
    expect(trace.outcome).toEqual(plain)
  })
})

describe('probe and modes', () => {
  it('anvil can run the tracer; a node without debug_traceCall cannot', async () => {
    expect(await probeTracerSupport(chain.client)).toEqual({ ok: true })
    const r = await probeTracerSupport(noTracerClient)
    expect(r.ok).toBe(false)
  })

  const capture = () => captureLog<{ level: number; msg: string }>()

  it('safe mode (default) gives a tracer and the rules', async () => {
    const { logger } = capture()
    const mode = await createValidationMode({ unsafe: false, client: chain.client, logger })
    // anvil has both paths: native first, the JS tracer behind it.
    expect(mode.tracer?.name).toBe('native+js')
    expect(mode.ruleChecker).toBeDefined()
  })

  it('safe mode refuses a node that cannot trace, naming --unsafe', async () => {
    const { logger } = capture()
    const err = await createValidationMode({ unsafe: false, client: noTracerClient, logger }).catch((e) => e)
    expect(err).toBeInstanceOf(TracerUnsupportedError)
    expect(err.message).toContain('--unsafe')
  })

  it('--unsafe skips the tracer and warns once, loudly, without probing', async () => {
    const { lines, logger } = capture()
    const mode = await createValidationMode({ unsafe: true, client: noTracerClient, logger })
    expect(mode.tracer).toBeUndefined()
    expect(mode.ruleChecker).toBeUndefined()
    expect(mode.replayWorker).toBeUndefined()
    const warns = lines.filter((l) => l.level === 40)
    expect(warns).toHaveLength(1)
    expect(warns[0]?.msg).toMatch(/UNSAFE MODE.*NOT checked: banned opcodes/)
  })
})
