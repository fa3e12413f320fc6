import {
  type Address,
  createPublicClient,
  custom,
  encodeFunctionData,
  http,
  numberToHex,
  type PublicClient,
} from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chainSpecFor } from '../src/chain/chain-spec.js'
import { entryPointOfVersion } from '../src/chain/entrypoint/registry.js'
import { ENTRY_POINT_VERSIONS, type EntryPointVersion, entryPointAbi } from '../src/chain/entrypoint.js'
import type { UserOperation } from '../src/chain/userop.js'
import { SIMULATION_BATCH_ADDRESS, simulateBatch } from '../src/sim/batch-call.js'
import { settleValidation } from '../src/sim/batch-outcome.js'
import { defaultSimSettings, type SimSettings } from '../src/sim/settings.js'
import { callSimulation, encodeSimulateValidation, withSimulationCode } from '../src/sim/sim-call.js'
import { Simulator } from '../src/sim/simulator.js'
import { createValidationMode } from '../src/sim/tracer/mode.js'
import type { ValidationOutcome } from '../src/sim/types.js'
import { mapLimit } from '../src/util/concurrency.js'
import { RpcCode } from '../src/util/errors.js'
import { silentLogger } from '../src/util/log.js'
import { buildOp, newOwner, signUserOp } from './harness/account.js'
import { bundleOps } from './harness/bundle.js'
import { startTestChain, type TestChain } from './harness/chain.js'
import { deployVerifyingPaymaster, withVerifyingPaymaster } from './harness/paymaster.js'

let chain: TestChain
let settings: SimSettings
const pmSigner = newOwner()

beforeAll(async () => {
  chain = await startTestChain()
  settings = defaultSimSettings(chainSpecFor(chain.chainId))
})
afterAll(async () => {
  await chain?.stop()
})

/** A client that counts the JSON-RPC methods it sends (eth_call to the batch helper apart). */
function countingClient(): { client: PublicClient; calls: Map<string, number> } {
  const calls = new Map<string, number>()
  const inner = http(chain.url)({ chain: chain.client.chain, retryCount: 0 })
  const client = createPublicClient({
    chain: chain.client.chain,
    transport: custom({
      request: ({ method, params }: { method: string; params?: unknown }) => {
        const to = (params as [{ to?: string }] | undefined)?.[0]?.to?.toLowerCase()
        const key = method === 'eth_call' && to === SIMULATION_BATCH_ADDRESS.toLowerCase() ? 'batch' : method
        calls.set(key, (calls.get(key) ?? 0) + 1)
        return inner.request({ method, params } as never)
      },
    }),
  }) as PublicClient
  return { client, calls }
}

const PVG = 100_000n
function build(version: EntryPointVersion, params: Parameters<typeof buildOp>[2]) {
  return buildOp(chain, version, { ...params, overrides: { preVerificationGas: PVG, ...params.overrides } })
}

/** A sponsored op: the account signs after the paymaster fields are set (its hash covers them). */
async function sponsored(
  version: EntryPointVersion,
  paymaster: Address,
  opts: { pmSigner?: typeof pmSigner; callData?: `0x${string}` } = {},
): Promise<UserOperation> {
  const owner = newOwner()
  const { op } = await build(version, { owner, sign: false, fund: false, callData: opts.callData })
  const withPm = await withVerifyingPaymaster(chain, op, paymaster, opts.pmSigner ?? pmSigner)
  return { ...withPm, signature: await signUserOp(chain, version, withPm, owner) }
}

/** A deployed account's op: its first op is mined by a real bundle. */
async function deployedAccountOp(version: EntryPointVersion): Promise<UserOperation> {
  const owner = newOwner()
  const first = await build(version, { owner })
  expect((await bundleOps(chain, version, [first.op])).events[0]?.success).toBe(true)
  const { op } = await build(version, { owner })
  expect(op.factory).toBeUndefined()
  return op
}

/** validate of each op alone, as outcomes. */
function oneByOne(sim: Simulator, entryPoint: Address, ops: UserOperation[], blockNumber: bigint) {
  return mapLimit(ops, 4, (op) => settleValidation(sim.validate(entryPoint, op, { blockNumber })))
}

/** The same outcome: the same result (every field), or the same RpcError (code, message, data). */
function expectSame(many: ValidationOutcome[], alone: ValidationOutcome[]) {
  expect(many).toHaveLength(alone.length)
  const shape = (o: ValidationOutcome) =>
    o.ok ? o : { ok: false, code: o.error.code, message: o.error.message, data: o.error.data }
  expect(many.map(shape)).toEqual(alone.map(shape))
}

describe.each(ENTRY_POINT_VERSIONS)('Simulator.validateMany %s', (version: EntryPointVersion) => {
  const ep = () => chain.deployment.entryPoints[version]

  it('gives every op of a mixed bundle the outcome validate gives it, in one eth_call', async () => {
    const paymaster = await deployVerifyingPaymaster(chain, version, pmSigner.address)
    const ops = [
      await deployedAccountOp(version),
      (await build(version, { owner: newOwner() })).op, // first op, with factory
      (await build(version, { owner: newOwner(), sign: false })).op, // bad account signature
      (await build(version, { owner: newOwner(), fund: false })).op, // cannot pay its prefund: AA21
      (await build(version, { owner: newOwner(), nonce: 7n })).op, // AA25
      await sponsored(version, paymaster),
      await sponsored(version, paymaster, { pmSigner: newOwner() }), // bad paymaster signature
    ]
    const blockNumber = await chain.client.getBlockNumber({ cacheTime: 0 })
    const { client, calls } = countingClient()
    const sim = new Simulator({ client, settings })
    const many = await sim.validateMany(ep(), ops, { blockNumber })
    expect(calls.get('batch')).toBe(1)
    expect(calls.get('eth_call')).toBeUndefined()

    const alone = await oneByOne(new Simulator({ client: chain.client, settings }), ep(), ops, blockNumber)
    expectSame(many, alone)
    // The mix is what it says: two valid plain ops, four rejections, one valid sponsored op.
    expect(many.map((o) => (o.ok ? 'ok' : o.error.code))).toEqual([
      'ok',
      'ok',
      RpcCode.InvalidSignature,
      RpcCode.PaymasterDepositTooLow,
      RpcCode.RejectedByEpOrAccount,
      'ok',
      RpcCode.InvalidSignature,
    ])
    const [deployed, first, , , , viaPaymaster] = many.map((o) => (o.ok ? o.result : undefined))
    expect(Object.keys(deployed?.codeHashes ?? {})).toEqual([ops[0]?.sender])
    expect(first?.factory?.address).toBe(chain.deployment.factories[version])
    expect(first?.codeHashes[chain.deployment.factories[version]]).toMatch(/^0x[0-9a-f]{64}$/)
    expect(viaPaymaster?.paymaster?.address).toBe(paymaster)
    expect(viaPaymaster?.codeHashes[paymaster]).toMatch(/^0x[0-9a-f]{64}$/)
    expect(many[6]).toMatchObject({
      ok: false,
      error: { message: expect.stringMatching(/paymaster signature/) },
    })
  })

  it("keeps each op from seeing the others' state changes (one sender, one paymaster)", async () => {
    // Two first ops of one counterfactual sender: run in sequence, the second would meet a deployed
    // account with nonce 1 (AA10).
    const owner = newOwner()
    const a = (await build(version, { owner })).op
    const b = (await build(version, { owner, callData: executeCall(owner.address, 1n) })).op
    // A paymaster whose deposit covers one op's prefund, not two: in sequence, AA31 for the second.
    const paymaster = await deployVerifyingPaymaster(chain, version, pmSigner.address, 0n)
    const c = await sponsored(version, paymaster)
    const d = await sponsored(version, paymaster, { callData: executeCall(owner.address, 2n) })
    const sim = new Simulator({ client: chain.client, settings })
    const broke = await sim.validate(ep(), c).catch((e: Error) => e)
    expect(String(broke)).toMatch(/AA31 paymaster deposit too low/)
    await deposit(version, paymaster, (opPrefund(c) * 3n) / 2n)

    const ops = [a, b, c, d]
    const blockNumber = await chain.client.getBlockNumber({ cacheTime: 0 })
    const many = await sim.validateMany(ep(), ops, { blockNumber })
    expect(many.map((o) => o.ok)).toEqual([true, true, true, true])
    expectSame(many, await oneByOne(sim, ep(), ops, blockNumber))
    const [ra, rb, rc, rd] = many.map((o) => (o.ok ? o.result : undefined))
    // Both of the sender's ops deploy it; the deposit covers either prefund but not both.
    expect(ra?.factory?.address).toBe(chain.deployment.factories[version])
    expect(rb?.factory?.address).toBe(chain.deployment.factories[version])
    const deposited = (await chain.client.readContract({
      address: ep(),
      abi: entryPointAbi(version),
      functionName: 'balanceOf',
      args: [paymaster],
    })) as bigint
    expect(deposited).toBeGreaterThanOrEqual(rc?.prefund ?? 0n)
    expect(deposited).toBeLessThan((rc?.prefund ?? 0n) + (rd?.prefund ?? 0n))
  })

  it('splits the bundle over as many calls as gas needs; the outcomes stay byte for byte', async () => {
    const ops = [
      await deployedAccountOp(version),
      await deployedAccountOp(version),
      (await build(version, { owner: newOwner() })).op, // worst case above the call's gas: alone
      await deployedAccountOp(version),
      (await build(version, { owner: newOwner(), sign: false })).op, // with factory too: alone
    ]
    const blockNumber = await chain.client.getBlockNumber({ cacheTime: 0 })
    const { client, calls } = countingClient()
    const outcomes = await simulateBatch(client, {
      ep: entryPointOfVersion(version),
      ops,
      blockNumber,
      gas: 1_100_000n,
    })
    expect(calls.get('batch')).toBeGreaterThanOrEqual(3)
    expect(calls.get('eth_call')).toBe(2) // the two ops with a factory, too big for this gas
    const alone = await mapLimit(ops, 4, (op) =>
      callSimulation(chain.client, {
        entryPoint: ep(),
        version,
        data: encodeSimulateValidation(version, op),
        blockNumber,
        stateOverride: withSimulationCode(version, ep()),
      }),
    )
    expect(outcomes).toEqual(alone)
    // sigFailed is data; v0.6's simulateValidation reverts with its result, which the module decodes.
    const decoded = outcomes.map((o) => entryPointOfVersion(version).simulation.decodeValidation(o, ops[0]!))
    expect(decoded.map((o) => o.ok)).toEqual([true, true, true, true, true])
  })

  it.each([
    ['js', { batch: undefined, traces: 2 }],
    ['native', { batch: 1, traces: 1 }],
  ] as const)(
    'with the %s tracer: the same outcomes as one traced validate per op, in %o node calls',
    async (tracer, expected) => {
      const ops = [
        await deployedAccountOp(version),
        (await build(version, { owner: newOwner(), fund: false })).op,
      ]
      const blockNumber = await chain.client.getBlockNumber({ cacheTime: 0 })
      const { client, calls } = countingClient()
      const mode = await createValidationMode({ unsafe: false, tracer, client, logger: silentLogger })
      const traced = new Simulator({ client, settings, ...mode })
      calls.clear()
      const many = await traced.validateMany(ep(), ops, { blockNumber, concurrency: 2 })
      // js: one debug_traceCall per op; native: one batched eth_call for the outcomes and one
      // prestateTracer call over that same batch call for the state every replay starts from.
      expect(calls.get('debug_traceCall')).toBe(expected.traces)
      expect(calls.get('batch')).toBe(expected.batch)
      expectSame(many, await oneByOne(traced, ep(), ops, blockNumber))
      expect(many[1]).toMatchObject({ ok: false, error: { code: RpcCode.PaymasterDepositTooLow } })
    },
  )

  it('reports an unsupported entry point for every op, as validate does', async () => {
    const { op } = await build(version, { owner: newOwner() })
    const sim = new Simulator({ client: chain.client, settings })
    const bogus = '0x000000000000000000000000000000000000dEaD' as Address
    const many = await sim.validateMany(bogus, [op, op])
    expect(many.map((o) => (o.ok ? 'ok' : o.error.code))).toEqual([
      RpcCode.InvalidParams,
      RpcCode.InvalidParams,
    ])
  })

  function executeCall(to: Address, value: bigint) {
    return encodeFunctionData({
      abi: [
        {
          type: 'function',
          name: 'execute',
          inputs: [
            { name: 'dest', type: 'address' },
            { name: 'value', type: 'uint256' },
            { name: 'func', type: 'bytes' },
          ],
          outputs: [],
          stateMutability: 'nonpayable',
        },
      ],
      functionName: 'execute',
      args: [to, value, '0x'],
    })
  }

  /** What the EntryPoint charges a sponsored op's paymaster up front (its version's formula). */
  function opPrefund(op: UserOperation): bigint {
    return entryPointOfVersion(version).gas.requiredPrefundGas(op) * op.maxFeePerGas
  }

  async function deposit(v: EntryPointVersion, account: Address, amount: bigint) {
    const funder = newOwner()
    await chain.client.request({
      method: 'anvil_setBalance' as never,
      params: [funder.address, numberToHex(amount + 10n ** 18n)] as never,
    })
    const { createWalletClient } = await import('viem')
    const wallet = createWalletClient({ transport: http(chain.url), account: funder })
    const hash = await wallet.sendTransaction({
      chain: null,
      to: chain.deployment.entryPoints[v],
      value: amount,
      data: encodeFunctionData({ abi: entryPointAbi(v), functionName: 'depositTo', args: [account] }),
    })
    await chain.client.waitForTransactionReceipt({ hash, pollingInterval: 50 })
  }
})
