import { type Address, type Hex, toHex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chainSpecFor } from '../src/chain/chain-spec.js'
import { BUNDLE_PER_OP_OVERHEAD_GAS } from '../src/chain/entrypoint/gas-rules.js'
import { entryPointOfVersion } from '../src/chain/entrypoint/registry.js'
import { ENTRY_POINT_VERSIONS, type EntryPointVersion } from '../src/chain/entrypoint.js'
import {
  bundleGasLimit,
  calldataCost,
  encodedOpForCalldata,
  opExecutionGasLimit,
  opInnerCallGas,
  opMaxCost,
  opMaxGas,
  requiredPreVerificationGas,
} from '../src/chain/gas.js'
import type { UserOperation } from '../src/chain/userop.js'
import { buildOp, executeCallData, newOwner, signUserOp } from './harness/account.js'
import { bundleGasFor, bundleOps, handleOpsCallData } from './harness/bundle.js'
import { startTestChain, type TestChain } from './harness/chain.js'
import { deployVerifyingPaymaster, withVerifyingPaymaster } from './harness/paymaster.js'

const OP: UserOperation = {
  sender: '0x1111111111111111111111111111111111111111',
  nonce: 0n,
  callData: '0x',
  callGasLimit: 100_000n,
  verificationGasLimit: 200_000n,
  preVerificationGas: 50_000n,
  maxFeePerGas: 3_000_000_000n,
  maxPriorityFeePerGas: 1_000_000_000n,
  signature: '0x',
}
const WITH_PM: UserOperation = {
  ...OP,
  paymaster: '0x2222222222222222222222222222222222222222',
  paymasterVerificationGasLimit: 70_000n,
  paymasterPostOpGasLimit: 30_000n,
}

describe('gas math tables', () => {
  it.each([
    ['no paymaster', OP, 350_000n, 1_050_000_000_000_000n],
    ['paymaster limits count', WITH_PM, 450_000n, 1_350_000_000_000_000n],
    ['zero limits', { ...OP, callGasLimit: 0n, verificationGasLimit: 0n, preVerificationGas: 0n }, 0n, 0n],
    ['max uint128 fee', { ...OP, maxFeePerGas: (1n << 128n) - 1n }, 350_000n, 350_000n * ((1n << 128n) - 1n)],
  ])('opMaxGas / opMaxCost: %s', (_n, op, gas, cost) => {
    expect(opMaxGas(op)).toBe(gas)
    expect(opMaxCost(op)).toBe(cost)
  })

  it.each([
    ['nothing to run', { ...OP, callGasLimit: 0n }, 10_320n],
    ['8M call gas', { ...OP, callGasLimit: 8_000_000n }, 8_266_304n],
    ['call and postOp', { ...WITH_PM, callGasLimit: 110_000n, paymasterPostOpGasLimit: 40_000n }, 165_120n],
  ])('opInnerCallGas is ceil((call + postOp + 10,000) · 64²/63²): %s', (_n, op, gas) => {
    expect(opInnerCallGas(op)).toBe(gas)
  })

  it('opExecutionGasLimit counts verification, paymaster verification, the inner call and the overhead', () => {
    expect(opExecutionGasLimit(WITH_PM)).toBe(200_000n + 70_000n + opInnerCallGas(WITH_PM) + 10_000n)
  })

  it.each([
    ['empty', '0x' as Hex, 0n, 0n],
    ['zero and non-zero', '0x00ff00' as Hex, 24n, 6n],
    ['1000 non-zero', toHex(new Uint8Array(1000).fill(7)), 16_000n, 4_000n],
  ])('calldataCost: %s', (_n, data, gas, tokens) => {
    expect(calldataCost(data)).toEqual({ gas, tokens })
  })

  it('bundleGasLimit: standard cost, or the EIP-7623 floor when data dominates', () => {
    const data = '0x00ff' as Hex
    expect(bundleGasLimit([OP], data)).toBe(21_000n + 20n + 10_000n + opExecutionGasLimit(OP))
    const bulky = toHex(new Uint8Array(10_000).fill(1))
    // standard 21,000 + 160,000 + 10,000 < floor 21,000 + 40,000 · 10
    expect(bundleGasLimit([], bulky)).toBe(421_000n)
  })

  it('requiredPreVerificationGas covers the op calldata and grows with it', () => {
    const spec = chainSpecFor(31337)
    for (const op of [OP, WITH_PM, { ...OP, callData: toHex(new Uint8Array(2000).fill(9)) }]) {
      const pvg = requiredPreVerificationGas(op, spec)
      expect(pvg).toBeGreaterThanOrEqual(calldataCost(encodedOpForCalldata(op)).gas + spec.pvg.fixed)
    }
    expect(requiredPreVerificationGas({ ...OP, callData: '0x01' }, spec)).toBeLessThan(
      requiredPreVerificationGas({ ...OP, callData: toHex(new Uint8Array(100).fill(1)) }, spec),
    )
  })
})

let chain: TestChain
beforeAll(async () => {
  chain = await startTestChain()
})
afterAll(async () => {
  await chain?.stop()
})

/** Whether handleOps(ops) runs without reverting when the transaction has exactly `gas`. */
async function handleOpsPasses(
  version: EntryPointVersion,
  ops: UserOperation[],
  beneficiary: Address,
  gas: bigint,
): Promise<boolean> {
  const data = handleOpsCallData(version, ops, beneficiary)
  const from = newOwner().address
  await chain.client.request({
    method: 'anvil_setBalance' as never,
    params: [from, toHex(10n ** 20n)] as never,
  })
  return chain.client.call({ account: from, to: chain.deployment.entryPoints[version], data, gas }).then(
    () => true,
    () => false,
  )
}

/** The least x in (lo, hi] for which ok(x) holds, assuming ok is monotone. */
async function least(
  lo: bigint,
  hi: bigint,
  ok: (x: bigint) => Promise<boolean>,
  what: string,
): Promise<bigint> {
  expect(await ok(hi), `${what}: the upper bound ${hi} itself must pass`).toBe(true)
  while (hi - lo > 1n) {
    const mid = (lo + hi) / 2n
    if (await ok(mid)) hi = mid
    else lo = mid
  }
  return hi
}

/** An op with the given verification limits (the paymaster one is ignored by ops without a paymaster). */
type OpMaker = (verificationGasLimit: bigint, paymasterVerificationGasLimit: bigint) => Promise<UserOperation>

/** Memory grows with the bundle, so validation inside a bundle costs a little more than alone. */
const BUNDLE_VALIDATION_MARGIN = 1_000n
const GENEROUS = 2_000_000n

/**
 * Ops whose verification limits are as tight as the account and paymaster allow: the worst case
 * for the bundle limit, since the EntryPoint then has no unused verification gas to spare.
 */
async function tightOps(version: EntryPointVersion, makers: OpMaker[], beneficiary: Address) {
  const ops: UserOperation[] = []
  for (const [i, make] of makers.entries()) {
    const passes = async (v: bigint, pmV: bigint) =>
      handleOpsPasses(version, [await make(v, pmV)], beneficiary, 15_000_000n)
    const v = await least(1_000n, GENEROUS, (v) => passes(v, GENEROUS), `verificationGasLimit of op ${i}`)
    const sponsored = (await make(v, GENEROUS)).paymaster !== undefined
    const pmV = sponsored
      ? await least(1_000n, GENEROUS, (p) => passes(v, p), `paymasterVerificationGasLimit of op ${i}`)
      : 0n
    ops.push(await make(v + BUNDLE_VALIDATION_MARGIN, pmV + (sponsored ? BUNDLE_VALIDATION_MARGIN : 0n)))
  }
  return ops
}

async function deployedAccount(version: EntryPointVersion) {
  const owner = newOwner()
  const first = await buildOp(chain, version, { owner })
  expect((await bundleOps(chain, version, [first.op])).events[0]?.success).toBe(true)
  return owner
}

describe.each(ENTRY_POINT_VERSIONS)('bundleGasLimit against real bundles on EntryPoint %s', (version) => {
  const shapes: Record<string, () => Promise<OpMaker[]>> = {
    'one op that deploys its account': async () => {
      const owner = newOwner()
      return [
        async (v) => (await buildOp(chain, version, { owner, overrides: { verificationGasLimit: v } })).op,
      ]
    },
    'one op with 8M call gas': async () => {
      const owner = await deployedAccount(version)
      return [
        async (v) =>
          (
            await buildOp(chain, version, {
              owner,
              overrides: { verificationGasLimit: v, callGasLimit: 8_000_000n },
            })
          ).op,
      ]
    },
    'three ops': async () => {
      const owners = await Promise.all([0, 1, 2].map(() => deployedAccount(version)))
      return owners.map(
        (owner) => async (v: bigint) =>
          (
            await buildOp(chain, version, {
              owner,
              overrides: { verificationGasLimit: v, callGasLimit: 300_000n },
            })
          ).op,
      )
    },
    'a sponsored op with postOp gas': async () => {
      const owner = await deployedAccount(version)
      const pmSigner = newOwner()
      const paymaster = await deployVerifyingPaymaster(chain, version, pmSigner.address)
      return [
        async (v, pmV) => {
          const { op } = await buildOp(chain, version, {
            owner,
            sign: false,
            overrides: {
              verificationGasLimit: v,
              paymasterPostOpGasLimit: 40_000n,
              paymasterVerificationGasLimit: pmV,
            },
          })
          const sponsored = await withVerifyingPaymaster(chain, op, paymaster, pmSigner)
          return { ...sponsored, signature: await signUserOp(chain, version, sponsored, owner) }
        },
      ]
    },
  }

  it.each(Object.keys(shapes))(
    '%s: the limit is enough, not wasteful, and the mined bundle fits it',
    async (name) => {
      const beneficiary = newOwner().address // a fresh beneficiary costs the most to pay
      const ops = await tightOps(version, await shapes[name]!(), beneficiary)
      const data = handleOpsCallData(version, ops, beneficiary)
      // None of these ops' paymasters returns a context (no v0.6 postOp to reserve for).
      const limit = bundleGasFor(version, ops, data, '0x')
      const needed = await least(
        21_000n,
        16_000_000n,
        (g) => handleOpsPasses(version, ops, beneficiary, g),
        'bundle gas',
      )
      expect(limit).toBeGreaterThanOrEqual(needed)
      // Not wasteful: past what the bundle needs, the per-op overhead and the call gas that earlier
      // ops may burn but these did not (the limit must cover every op using its whole callGasLimit).
      const ep = entryPointOfVersion(version)
      const inner = ops.map(
        (op) => ep.gas.executionGas(op, '0x') - ep.gas.verificationGas(op) - BUNDLE_PER_OP_OVERHEAD_GAS,
      )
      let largest = 0n
      for (const g of inner) if (g > largest) largest = g
      const claimableUnused = inner.reduce((a, b) => a + b, 0n) - largest
      expect(limit - needed).toBeLessThan(25_000n * BigInt(ops.length) + claimableUnused)

      const r = await bundleOps(chain, version, ops, { beneficiary, paymasterContext: '0x' })
      expect(r.receipt.status).toBe('success')
      expect(r.events.map((e) => e.success)).toEqual(ops.map(() => true))
      const tx = await chain.client.getTransaction({ hash: r.txHash })
      expect(tx.gas).toBe(limit)
      expect(r.receipt.gasUsed).toBeLessThanOrEqual(limit)
    },
  )
})

describe.each(ENTRY_POINT_VERSIONS)('preVerificationGas on EntryPoint %s', (version) => {
  it('covers the calldata an op adds to the bundle, and the bundler is paid at least its gas', async () => {
    const owner = await deployedAccount(version)
    const bundler = newOwner()
    await chain.client.request({
      method: 'anvil_setBalance' as never,
      params: [bundler.address, toHex(10n ** 20n)] as never,
    })
    const callData = executeCallData(version, newOwner().address, 0n, toHex(new Uint8Array(600).fill(0xab)))
    // buildOp prices preVerificationGas with requiredPreVerificationGas for the dev chain spec.
    const { op } = await buildOp(chain, version, { owner, callData })
    const required = requiredPreVerificationGas(
      op,
      chainSpecFor(chain.chainId),
      entryPointOfVersion(version).encodedOpForCalldata,
      entryPointOfVersion(version).gas.preVerificationOverhead,
    )
    expect(op.preVerificationGas).toBeGreaterThanOrEqual(required)
    expect(op.preVerificationGas - required).toBeLessThan(200n)

    const withOp = calldataCost(handleOpsCallData(version, [op], bundler.address)).gas
    const without = calldataCost(handleOpsCallData(version, [], bundler.address)).gas
    expect(op.preVerificationGas).toBeGreaterThanOrEqual(withOp - without)

    const r = await bundleOps(chain, version, [op], { bundler })
    expect(r.events[0]?.success).toBe(true)
    // Everything the transaction burned is charged to the op (PVG covers intrinsic and calldata).
    expect(r.events[0]!.actualGasUsed).toBeGreaterThanOrEqual(r.receipt.gasUsed)
  })
})
