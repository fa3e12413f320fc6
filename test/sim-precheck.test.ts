import type { Address, Hex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chainSpecFor } from '../src/chain/chain-spec.js'
import { opMaxGas, requiredPreVerificationGas } from '../src/chain/gas.js'
import type { UserOperation } from '../src/chain/userop.js'
import {
  maxOpGasFor,
  PrecheckError,
  type PrecheckRule,
  type PrecheckState,
  precheckOp,
} from '../src/sim/precheck.js'
import { defaultSimSettings } from '../src/sim/settings.js'
import { Simulator } from '../src/sim/simulator.js'
import { RpcCode } from '../src/util/errors.js'
import { buildOp, newOwner } from './harness/account.js'
import { bundleOps } from './harness/bundle.js'
import { startTestChain, type TestChain } from './harness/chain.js'

const settings = defaultSimSettings(chainSpecFor(31337), { minPriorityFeePerGas: 1_000n })
const SENDER: Address = '0x1111111111111111111111111111111111111111'
const FACTORY: Address = '0x2222222222222222222222222222222222222222'
const PAYMASTER: Address = '0x3333333333333333333333333333333333333333'
const CODE: Hex = '0x6000'

function baseOp(over: Partial<UserOperation> = {}): UserOperation {
  const op: UserOperation = {
    sender: SENDER,
    nonce: 0n,
    callData: '0xb61d27f6',
    callGasLimit: 100_000n,
    verificationGasLimit: 150_000n,
    preVerificationGas: 0n,
    maxFeePerGas: 2_000_000_000n,
    maxPriorityFeePerGas: 1_000_000n,
    signature: `0x${'ab'.repeat(65)}`,
    ...over,
  }
  // pvg prices its own bytes: price a 3-byte all-ones value, which covers any 3-byte result.
  if (over.preVerificationGas === undefined)
    op.preVerificationGas = requiredPreVerificationGas(
      { ...op, preVerificationGas: 0xffffffn },
      settings.chainSpec,
    )
  return op
}

const state = (over: Partial<PrecheckState> = {}): PrecheckState => ({
  senderCode: CODE,
  baseFee: 1_000_000_000n,
  blockGasLimit: 30_000_000n,
  ...over,
})

function violation(op: UserOperation, s: PrecheckState = state()): PrecheckError {
  try {
    precheckOp(op, s, settings)
  } catch (err) {
    expect(err).toBeInstanceOf(PrecheckError)
    const e = err as PrecheckError
    expect(e.code).toBe(RpcCode.InvalidParams)
    expect((e.data as { rule: PrecheckRule }).rule).toBe(e.rule)
    return e
  }
  throw new Error('expected a precheck violation')
}

describe('precheck rules (pure)', () => {
  it('passes a well-formed op', () => {
    expect(() => precheckOp(baseOp(), state(), settings)).not.toThrow()
  })

  it.each<[string, Partial<UserOperation>]>([
    ['short sender', { sender: '0x1234' as Address }],
    ['non-hex callData', { callData: '0xzz' as Hex }],
    ['odd-length signature', { signature: '0xabc' as Hex }],
    ['factory not an address', { factory: '0x22' as Address }],
    ['negative nonce', { nonce: -1n }],
    ['nonce above uint256', { nonce: 1n << 256n }],
    ['callGasLimit above uint120 (AA94)', { callGasLimit: 1n << 120n }],
    ['maxFeePerGas above uint120', { maxFeePerGas: 1n << 127n }],
    ['paymaster gas without paymaster', { paymasterVerificationGasLimit: 1n }],
    ['factoryData without factory', { factoryData: '0x12' }],
  ])('rejects %s as a field error', (_, over) => {
    expect(violation(baseOp({ ...over, preVerificationGas: 100_000n })).rule).toBe('field')
  })

  it('factory only while the sender has no code, and a codeless sender needs one', () => {
    expect(violation(baseOp({ factory: FACTORY }), state({ factoryCode: CODE })).rule).toBe(
      'factoryWithDeployedSender',
    )
    expect(violation(baseOp(), state({ senderCode: '0x' })).rule).toBe('senderNotDeployed')
    expect(() =>
      precheckOp(baseOp({ factory: FACTORY }), state({ senderCode: '0x', factoryCode: CODE }), settings),
    ).not.toThrow()
  })

  it('factory and paymaster must have code', () => {
    expect(violation(baseOp({ factory: FACTORY }), state({ senderCode: '0x', factoryCode: '0x' })).rule).toBe(
      'factoryNotDeployed',
    )
    const pm = baseOp({ paymaster: PAYMASTER, paymasterVerificationGasLimit: 50_000n })
    expect(violation(pm, state({ paymasterCode: '0x' })).rule).toBe('paymasterNotDeployed')
    expect(() => precheckOp(pm, state({ paymasterCode: CODE }), settings)).not.toThrow()
  })

  it('caps verification gas (account + paymaster) at maxVerificationGas', () => {
    const atCap = baseOp({
      verificationGasLimit: 4_000_000n,
      paymaster: PAYMASTER,
      paymasterVerificationGasLimit: 1_000_000n,
    })
    expect(() => precheckOp(atCap, state({ paymasterCode: CODE }), settings)).not.toThrow()
    const over = baseOp({ ...atCap, paymasterVerificationGasLimit: 1_000_001n })
    const e = violation(over, state({ paymasterCode: CODE }))
    expect(e.rule).toBe('verificationGasTooHigh')
    expect(e.message).toContain('5000001')
  })

  it('refuses an op that can never fit in a bundle under the chain caps', () => {
    // min(block 30M, tx cap 2^24) * 90% less overheads
    const max = maxOpGasFor(state(), settings)
    expect(max).toBe(((1n << 24n) * 90n) / 100n - 20_000n)
    expect(maxOpGasFor(state({ blockGasLimit: 10_000_000n }), settings)).toBe(9_000_000n - 20_000n)
    const fits = baseOp({ callGasLimit: 0n, preVerificationGas: 100_000n })
    const room = max - opMaxGas(fits)
    expect(() => precheckOp({ ...fits, callGasLimit: room }, state(), settings)).not.toThrow()
    expect(violation({ ...fits, callGasLimit: room + 1n }).rule).toBe('opGasTooHigh')
    const configured = defaultSimSettings(settings.chainSpec, { maxOpGas: 500_000n })
    expect(() => precheckOp(baseOp({ callGasLimit: 400_000n }), state(), configured)).toThrow(/op gas/)
  })

  it('maxFeePerGas at least baseFeeAcceptPercent of the base fee (rounded up), tip at least the floor', () => {
    // 50% of 1_000_000_001 is 500_000_000.5: the op must pay 500_000_001.
    const s = state({ baseFee: 1_000_000_001n })
    expect(violation(baseOp({ maxFeePerGas: 500_000_000n }), s).rule).toBe('maxFeeTooLow')
    expect(() => precheckOp(baseOp({ maxFeePerGas: 500_000_001n }), s, settings)).not.toThrow()
    expect(violation(baseOp({ maxPriorityFeePerGas: 999n })).rule).toBe('priorityFeeTooLow')
    expect(
      violation(
        baseOp({ maxFeePerGas: 1_000_000n, maxPriorityFeePerGas: 1_000_001n }),
        state({ baseFee: 0n }),
      ).rule,
    ).toBe('priorityAboveMaxFee')
  })

  it('preVerificationGas at least the required amount', () => {
    const op = baseOp()
    const required = requiredPreVerificationGas(op, settings.chainSpec)
    expect(() => precheckOp(op, state(), settings)).not.toThrow()
    const e = violation({ ...op, preVerificationGas: required - 1n })
    expect(e.rule).toBe('preVerificationGasTooLow')
    expect((e.data as { required: string }).required).toBe(required.toString())
  })
})

describe('prechecks through the Simulator on anvil', () => {
  let chain: TestChain
  let simulator: Simulator
  const version = 'v0.7' as const
  beforeAll(async () => {
    chain = await startTestChain({ baseFee: 1_000_000_000n })
    simulator = new Simulator({
      client: chain.client,
      settings: defaultSimSettings(chainSpecFor(chain.chainId)),
    })
  })
  afterAll(async () => {
    await chain?.stop()
  })
  const ep = () => chain.deployment.entryPoints[version]
  const baseFee = async () => (await chain.client.getBlock()).baseFeePerGas ?? 0n

  async function rule(op: UserOperation): Promise<PrecheckRule> {
    const err = await simulator.validate(ep(), op).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(PrecheckError)
    expect((err as PrecheckError).code).toBe(RpcCode.InvalidParams)
    return (err as PrecheckError).rule
  }

  it('reads code and base fee from the chain for each rule', async () => {
    const owner = newOwner()
    const first = await buildOp(chain, version, { owner, overrides: { preVerificationGas: 100_000n } })
    expect(await rule({ ...first.op, factory: undefined, factoryData: undefined })).toBe('senderNotDeployed')
    expect(await rule({ ...first.op, factory: PAYMASTER })).toBe('factoryNotDeployed')
    expect(await rule({ ...first.op, paymaster: PAYMASTER, paymasterVerificationGasLimit: 10n })).toBe(
      'paymasterNotDeployed',
    )
    const tooCheap = (await baseFee()) / 2n - 1n
    expect(tooCheap).toBeGreaterThan(0n)
    expect(await rule({ ...first.op, maxFeePerGas: tooCheap, maxPriorityFeePerGas: 0n })).toBe('maxFeeTooLow')
    expect(await rule({ ...first.op, preVerificationGas: 1_000n })).toBe('preVerificationGasTooLow')
    expect(await rule({ ...first.op, verificationGasLimit: 6_000_000n })).toBe('verificationGasTooHigh')
    expect((await bundleOps(chain, version, [first.op])).events[0]?.success).toBe(true)
    const second = await buildOp(chain, version, { owner, overrides: { preVerificationGas: 100_000n } })
    expect(await rule({ ...second.op, factory: first.op.factory, factoryData: first.op.factoryData })).toBe(
      'factoryWithDeployedSender',
    )
    // The same op without the violation is accepted.
    await expect(simulator.validate(ep(), second.op)).resolves.toMatchObject({ accountSigFailed: false })
  })

  it('skips prechecks on a pinned-block re-simulation unless asked', async () => {
    const { op } = await buildOp(chain, version, {
      owner: newOwner(),
      overrides: { preVerificationGas: 100_000n },
    })
    const cheap = { ...op, maxFeePerGas: (await baseFee()) / 2n - 1n, maxPriorityFeePerGas: 0n }
    const at = await chain.client.getBlockNumber({ cacheTime: 0 })
    // The signature no longer matches the changed fees, so simulation itself says -32507.
    const resim = await simulator.validate(ep(), cheap, { blockNumber: at }).catch((e: PrecheckError) => e)
    expect((resim as PrecheckError).code).toBe(RpcCode.InvalidSignature)
    const forced = await simulator.validate(ep(), cheap, { blockNumber: at, precheck: true }).catch((e) => e)
    expect((forced as PrecheckError).rule).toBe('maxFeeTooLow')
  })
})
