import { type Address, concat, encodeAbiParameters, type Hash, type Hex, toHex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { selectCandidates } from '../src/builder/selection.js'
import { V06_GAS_RULES } from '../src/chain/entrypoint/gas-rules.js'
import { entryPointOfVersion } from '../src/chain/entrypoint/registry.js'
import type { UserOperation } from '../src/chain/userop.js'
import type { PoolOp } from '../src/pool/types.js'
import type { ValidationResult } from '../src/sim/types.js'
import { buildOp, newOwner, signUserOp } from './harness/account.js'
import { bundleOps } from './harness/bundle.js'
import { startTestChain, type TestChain } from './harness/chain.js'
import { deployTestContract, testArtifact } from './support/contracts.js'
import { type ConveyorApp, startConveyorApp } from './support/conveyor-app.js'

/**
 * EntryPoint v0.6's gas rule: one verificationGasLimit serves validation and the paymaster's postOp
 * (run again in postOpReverted mode when it reverts), so with a paymaster that has a postOp the
 * limit counts three times against the bundle's gas cap; without a postOp, once. The EntryPoint's
 * own prefund triples it for any paymaster. Proven on the pure rules, on the proposer's selection,
 * and on anvil with a paymaster whose postOp burns gas.
 */

const V06 = 'v0.6' as const
const ep = entryPointOfVersion(V06)

const OP: UserOperation = {
  sender: '0x1111111111111111111111111111111111111111',
  nonce: 0n,
  callData: '0x',
  callGasLimit: 50_000n,
  verificationGasLimit: 100_000n,
  preVerificationGas: 30_000n,
  maxFeePerGas: 10n,
  maxPriorityFeePerGas: 1n,
  signature: '0x',
}
const SPONSORED: UserOperation = {
  ...OP,
  paymaster: '0x2222222222222222222222222222222222222222',
  paymasterData: '0x',
}

describe('v0.6 gas rules', () => {
  it('counts verificationGasLimit once without a postOp, three times with one; the prefund triples it for any paymaster', () => {
    expect(V06_GAS_RULES.maxGas(OP)).toBe(180_000n)
    expect(V06_GAS_RULES.maxGas(SPONSORED, '0x')).toBe(180_000n)
    expect(V06_GAS_RULES.maxGas(SPONSORED, '0x01')).toBe(380_000n)
    // Before simulation the context is unknown: the worst case.
    expect(V06_GAS_RULES.maxGas(SPONSORED)).toBe(380_000n)
    expect(V06_GAS_RULES.requiredPrefundGas(OP)).toBe(180_000n)
    expect(V06_GAS_RULES.requiredPrefundGas(SPONSORED)).toBe(380_000n)
    // The bundle reserves the second postOp's gas only when there is a postOp.
    expect(V06_GAS_RULES.executionGas(SPONSORED, '0x01') - V06_GAS_RULES.executionGas(SPONSORED, '0x')).toBe(
      100_000n,
    )
    expect(V06_GAS_RULES.verificationGas(SPONSORED)).toBe(100_000n)
  })

  it("the proposer's gas cap counts an op by its paymaster's context", () => {
    const poolOp = (hash: Hash, sender: Address, paymasterContext: Hex): PoolOp => ({
      hash,
      entryPoint: ep.address,
      op: { ...SPONSORED, sender },
      seq: 0,
      validation: { paymasterContext } as ValidationResult,
    })
    const withPostOp = poolOp(`0x${'01'.repeat(32)}`, '0x3333333333333333333333333333333333333333', '0x01')
    const withoutPostOp = poolOp(`0x${'02'.repeat(32)}`, '0x4444444444444444444444444444444444444444', '0x')
    const limits = {
      required: { minMaxFeePerGas: 0n, minPriorityFeePerGas: 0n },
      maxBundleGas: 300_000n,
      maxBundleSize: 10,
      opGas: (c: PoolOp) => ep.gas.maxGas(c.op, c.validation.paymasterContext),
    }
    expect(selectCandidates([withoutPostOp], limits).selected).toHaveLength(1)
    expect(selectCandidates([withPostOp], limits).skipped).toEqual([
      { hash: withPostOp.hash, reason: 'gas_cap' },
    ])
  })
})

describe('v0.6 on anvil: a paymaster with a postOp', () => {
  let chain: TestChain
  let conveyor: ConveyorApp
  let paymaster: Address
  const artifact = testArtifact('PostOpPaymasterV06')

  beforeAll(async () => {
    chain = await startTestChain()
    conveyor = await startConveyorApp(chain)
    paymaster = await deployTestContract(chain, 'PostOpPaymasterV06', [ep.address], { deposit: 10n ** 19n })
  }, 60_000)

  afterAll(async () => {
    await conveyor?.stop()
    await chain?.stop()
  })

  it('estimates a verificationGasLimit that carries the postOp, and the op lands with its postOp run', async () => {
    const burn = 150_000n
    const owner = newOwner()
    const first = await buildOp(chain, V06, { owner })
    expect((await bundleOps(chain, V06, [first.op])).events[0]?.success).toBe(true)
    const { op: draft } = await buildOp(chain, V06, { owner, sign: false, fund: false })
    const paymasterAndData = concat([paymaster, encodeAbiParameters([{ type: 'uint256' }], [burn])])
    const wire = {
      sender: draft.sender,
      nonce: toHex(draft.nonce),
      initCode: '0x',
      callData: draft.callData,
      maxFeePerGas: toHex(draft.maxFeePerGas),
      maxPriorityFeePerGas: toHex(draft.maxPriorityFeePerGas),
      paymasterAndData,
      signature: draft.signature,
    }
    const est = await conveyor.rpc<Record<string, Hex>>('eth_estimateUserOperationGas', [wire, ep.address])
    expect(est.paymasterVerificationGasLimit).toBeUndefined()
    // Validation alone takes a few tens of thousands: the limit is the postOp's burn and more.
    expect(BigInt(est.verificationGasLimit!)).toBeGreaterThan(burn)
    const estimated: UserOperation = {
      ...draft,
      paymaster,
      paymasterData: encodeAbiParameters([{ type: 'uint256' }], [burn]),
      callGasLimit: BigInt(est.callGasLimit!),
      verificationGasLimit: BigInt(est.verificationGasLimit!),
      preVerificationGas: BigInt(est.preVerificationGas!),
    }
    const op = { ...estimated, signature: await signUserOp(chain, V06, estimated, owner) }
    const hash = await conveyor.rpc<Hash>('eth_sendUserOperation', [
      { ...wire, ...hexGas(op), signature: op.signature },
      ep.address,
    ])
    const txHash = await conveyor.bundleNow()
    const receipt = await conveyor.rpc<{ success: boolean; paymaster: Address }>(
      'eth_getUserOperationReceipt',
      [hash],
    )
    expect(receipt).toMatchObject({ success: true, paymaster })
    expect(
      await chain.client.readContract({ address: paymaster, abi: artifact.abi, functionName: 'postOps' }),
    ).toBe(1n)
    const tx = await chain.client.getTransaction({ hash: txHash })
    const mined = await chain.client.getTransactionReceipt({ hash: txHash })
    // The bundle's gas limit reserved the postOp (and its second run) out of verificationGasLimit;
    // only validation's own share is the simulated use (bundle-gas.ts).
    expect(tx.gas).toBeGreaterThanOrEqual(ep.gas.executionGas(op, '0x01') - ep.gas.verificationGas(op))
    expect(mined.gasUsed).toBeLessThanOrEqual(tx.gas)
  })
})

function hexGas(op: UserOperation) {
  return {
    callGasLimit: toHex(op.callGasLimit),
    verificationGasLimit: toHex(op.verificationGasLimit),
    preVerificationGas: toHex(op.preVerificationGas),
  }
}
