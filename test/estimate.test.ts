import { type Address, encodeFunctionData, type Hex, numberToHex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chainSpecFor } from '../src/chain/chain-spec.js'
import { entryPointOfVersion } from '../src/chain/entrypoint/registry.js'
import { ENTRY_POINT_VERSIONS, type EntryPointVersion, entryPointAbi } from '../src/chain/entrypoint.js'
import type { UserOperation } from '../src/chain/userop.js'
import { depositSlot } from '../src/sim/estimation-overrides.js'
import { GasEstimatorImpl } from '../src/sim/estimator.js'
import { defaultSimSettings } from '../src/sim/settings.js'
import { Simulator } from '../src/sim/simulator.js'
import type { GasEstimate, UserOperationDraft } from '../src/sim/types.js'
import { RpcCode, RpcError } from '../src/util/errors.js'
import { buildOp, executeCallData, newOwner, signUserOp } from './harness/account.js'
import { bundleOps } from './harness/bundle.js'
import { startTestChain, type TestChain } from './harness/chain.js'
import { deployVerifyingPaymaster, withVerifyingPaymaster } from './harness/paymaster.js'

let chain: TestChain
let estimator: GasEstimatorImpl
let simulator: Simulator

beforeAll(async () => {
  chain = await startTestChain()
  const settings = defaultSimSettings(chainSpecFor(chain.chainId))
  estimator = new GasEstimatorImpl({ client: chain.client, settings })
  simulator = new Simulator({ client: chain.client, settings })
})
afterAll(async () => {
  await chain?.stop()
})

/** A draft as a wallet sends it: gas fields left out, a dummy signature. */
function draftOf(op: UserOperation): UserOperationDraft {
  const { callGasLimit, verificationGasLimit, preVerificationGas, ...rest } = op
  void callGasLimit
  void verificationGasLimit
  void preVerificationGas
  return { ...rest, paymasterVerificationGasLimit: undefined }
}

function apply(op: UserOperation, est: GasEstimate): UserOperation {
  return {
    ...op,
    callGasLimit: est.callGasLimit,
    verificationGasLimit: est.verificationGasLimit,
    preVerificationGas: est.preVerificationGas,
    ...(est.paymasterVerificationGasLimit !== undefined
      ? { paymasterVerificationGasLimit: est.paymasterVerificationGasLimit }
      : {}),
  }
}

async function rejection(p: Promise<unknown>): Promise<RpcError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(RpcError)
  return err as RpcError
}

/** A call that costs real gas: a value transfer that creates a fresh account (25k new-account gas). */
function transferCall(version: EntryPointVersion): Hex {
  return executeCallData(version, newOwner().address, 1000n, '0x')
}

describe.each(ENTRY_POINT_VERSIONS)('GasEstimatorImpl %s', (version) => {
  const ep = () => chain.deployment.entryPoints[version]

  it('the deposits mapping is at slot 0 of the EntryPoint (the estimation overrides rely on it)', async () => {
    const account = newOwner().address
    const wallet = newOwner()
    await chain.client.request({
      method: 'anvil_setBalance' as never,
      params: [wallet.address, numberToHex(10n ** 18n)] as never,
    })
    const raw = await wallet.signTransaction({
      chainId: chain.chainId,
      type: 'eip1559',
      to: ep(),
      value: 12345n,
      gas: 100_000n,
      maxFeePerGas: 10n ** 10n,
      maxPriorityFeePerGas: 1n,
      nonce: 0,
      data: encodeFunctionData({ abi: entryPointAbi(version), functionName: 'depositTo', args: [account] }),
    })
    await chain.client.waitForTransactionReceipt({
      hash: await chain.client.sendRawTransaction({ serializedTransaction: raw }),
    })
    const word = await chain.client.getStorageAt({ address: ep(), slot: depositSlot(account) })
    expect(BigInt(word!)).toBe(12345n)
  })

  it('estimates a first op (with factory) that then lands, and validation accepts it', async () => {
    const owner = newOwner()
    const { op: draftOp, sender } = await buildOp(chain, version, {
      owner,
      sign: false,
      callData: transferCall(version),
    })
    expect(draftOp.factory).toBeDefined()
    const est = await estimator.estimate(ep(), draftOf(draftOp))
    // Deploying a SimpleAccount takes a few hundred thousand gas; the transfer about 35k.
    expect(est.verificationGasLimit).toBeGreaterThan(150_000n)
    expect(est.verificationGasLimit).toBeLessThan(600_000n)
    expect(est.callGasLimit).toBeGreaterThan(30_000n)
    expect(est.callGasLimit).toBeLessThan(80_000n)
    expect(est.paymasterVerificationGasLimit).toBeUndefined()
    const op = apply(draftOp, est)
    op.signature = await signUserOp(chain, version, op, owner)
    const accepted = await simulator.validate(ep(), op)
    expect(accepted.accountSigFailed).toBe(false)
    const mined = await bundleOps(chain, version, [op])
    expect(mined.receipt.status).toBe('success')
    expect(mined.events[0]?.success).toBe(true)
    expect(mined.events[0]?.sender).toBe(sender)
    // The estimate is not wildly above what the op used.
    expect(mined.events[0]!.actualGasUsed).toBeGreaterThan((est.verificationGasLimit + est.callGasLimit) / 3n)
  })

  it('estimates an op from a deployed account (with a refund deposit left) that lands', async () => {
    const owner = newOwner()
    const first = await buildOp(chain, version, { owner })
    expect((await bundleOps(chain, version, [first.op])).events[0]?.success).toBe(true)
    const deposit = (await chain.client.readContract({
      address: ep(),
      abi: entryPointAbi(version),
      functionName: 'balanceOf',
      args: [first.sender],
    })) as bigint
    expect(deposit).toBeGreaterThan(0n) // the first op's refund: the pay-prefund path is not a given
    const { op: draftOp } = await buildOp(chain, version, {
      owner,
      sign: false,
      callData: transferCall(version),
    })
    expect(draftOp.factory).toBeUndefined()
    const est = await estimator.estimate(ep(), draftOf(draftOp))
    expect(est.verificationGasLimit).toBeLessThan(150_000n)
    const op = apply(draftOp, est)
    op.signature = await signUserOp(chain, version, op, owner)
    await simulator.validate(ep(), op)
    const mined = await bundleOps(chain, version, [op])
    expect(mined.events[0]?.success).toBe(true)
  })

  it('the call gas is tight: a tenth less makes the execution fail', async () => {
    const owner = newOwner()
    const first = await buildOp(chain, version, { owner })
    expect((await bundleOps(chain, version, [first.op])).events[0]?.success).toBe(true)
    const { op: draftOp } = await buildOp(chain, version, {
      owner,
      sign: false,
      callData: transferCall(version),
    })
    const est = await estimator.estimate(ep(), draftOf(draftOp))
    const op = apply(draftOp, { ...est, callGasLimit: (est.callGasLimit * 9n) / 10n })
    op.signature = await signUserOp(chain, version, op, owner)
    const mined = await bundleOps(chain, version, [op])
    expect(mined.events[0]?.success).toBe(false)
  })

  it('estimates a sponsored op (verifying paymaster) that lands', async () => {
    const pmSigner = newOwner()
    const paymaster = await deployVerifyingPaymaster(chain, version, pmSigner.address)
    const owner = newOwner()
    const { op: unsponsored } = await buildOp(chain, version, { owner, sign: false, fund: false })
    const dummy = await withVerifyingPaymaster(chain, unsponsored, paymaster, pmSigner)
    const est = await estimator.estimate(ep(), draftOf(dummy))
    if (entryPointOfVersion(version).gas.estimated.paymasterLimits) {
      expect(est.paymasterVerificationGasLimit).toBeGreaterThan(5_000n)
      expect(est.paymasterVerificationGasLimit).toBeLessThan(100_000n)
      expect(est.paymasterPostOpGasLimit).toBe(0n)
    } else {
      // v0.6: verificationGasLimit covers the paymaster; no paymaster limits to fill in.
      expect(est.paymasterVerificationGasLimit).toBeUndefined()
      expect(est.paymasterPostOpGasLimit).toBeUndefined()
    }
    // The paymaster signs over the final gas limits, then the account over everything.
    const filled = await withVerifyingPaymaster(chain, apply(dummy, est), paymaster, pmSigner)
    const op = { ...filled, signature: await signUserOp(chain, version, filled, owner) }
    await simulator.validate(ep(), op)
    const mined = await bundleOps(chain, version, [op])
    expect(mined.events[0]?.success).toBe(true)
    expect(mined.events[0]?.paymaster).toBe(paymaster)
  })

  it('a reverting execution is -32521 with the decoded reason', async () => {
    const { op } = await buildOp(chain, version, {
      owner: newOwner(),
      sign: false,
      callData: executeCallData(
        version,
        ep(),
        0n,
        encodeFunctionData({
          abi: entryPointAbi(version),
          functionName: 'withdrawTo',
          args: [newOwner().address, 10n ** 30n],
        }),
      ),
    })
    const err = await rejection(estimator.estimate(ep(), draftOf(op)))
    expect(err.code).toBe(RpcCode.ExecutionReverted)
    // v0.6–v0.8 revert with a message, v0.9 with its InsufficientDeposit error: both decoded.
    expect(err.message).toMatch(/Withdraw amount too large|InsufficientDeposit\(/)
  })

  it('passes user state overrides through (a target given reverting code makes execution revert)', async () => {
    const target: Address = newOwner().address
    const { op } = await buildOp(chain, version, {
      owner: newOwner(),
      sign: false,
      callData: executeCallData(version, target, 0n, '0x'),
    })
    const plain = await estimator.estimate(ep(), draftOf(op))
    expect(plain.callGasLimit).toBeGreaterThan(0n)
    // PUSH0 PUSH0 REVERT
    const err = await rejection(estimator.estimate(ep(), draftOf(op), { [target]: { code: '0x5f5ffd' } }))
    expect(err.code).toBe(RpcCode.ExecutionReverted)
  })

  it('a validation failure at the caps is rejected with its own code (AA25 → -32500)', async () => {
    const { op } = await buildOp(chain, version, { owner: newOwner(), sign: false, nonce: 7n })
    const err = await rejection(estimator.estimate(ep(), draftOf(op)))
    expect(err.code).toBe(RpcCode.RejectedByEpOrAccount)
    expect(err.message).toMatch(/AA25/)
  })
})
