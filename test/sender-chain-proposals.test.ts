/**
 * The proposer's bundle-level refusals and fee filter, driven through a BundleSender on anvil
 * (manual mode, blocks mined by the test): an unprofitable bundle, the cap of the signer's balance,
 * and `priority_fee_mode_kind=base_fee_percent`.
 */
import type { Hash } from 'viem'
import { afterEach, describe, expect, it } from 'vitest'
import { bundleGas } from '../src/builder/bundle-gas.js'
import { encodeBundleCall } from '../src/builder/handle-ops.js'
import { chainSpecFor } from '../src/chain/chain-spec.js'
import { entryPointOfVersion } from '../src/chain/entrypoint/registry.js'
import { bundleFees } from '../src/chain/fee-math.js'
import { FeeEstimator } from '../src/chain/fees.js'
import { GWEI, OP_FEES, type SenderRig, startSenderRig } from './support/sender-rig.js'

let rig: SenderRig | undefined
afterEach(async () => {
  await rig?.stop()
  rig = undefined
})

const V07 = 'v0.7' as const

describe('bundle-level refusals', () => {
  it('unprofitable: the ops pay less than the bundle costs → no bundle, nothing sent, the op stays pooled', async () => {
    rig = await startSenderRig({
      settings: { mode: 'manual' },
      // The bundle tips 11× the node's tip; the op only has to pay the base fee (0% of it as tip).
      proposer: { priorityFeeOverheadPercent: 1000, priorityFeeMode: { kind: 'base_fee_percent', value: 0 } },
    })
    const op = await rig.addOp(V07, { maxFeePerGas: 100n * GWEI, maxPriorityFeePerGas: 1n })
    expect(await rig.sendBundleNowBounded()).toEqual({ kind: 'no_bundle', reason: 'unprofitable' })
    expect(await rig.pendingTxs()).toEqual([])
    expect(await rig.pool.getOp(op)).toBeDefined()
    expect(rig.sender.status()).toMatchObject({ state: 'Building', last: 'no_bundle' })
  })

  it("the signer's balance caps the bundle: too poor for any op → waits; enough for one → one op mined, the rest stays; funded → the rest mined", async () => {
    rig = await startSenderRig({ settings: { mode: 'manual' } })
    const ep = rig.chain.deployment.entryPoints[V07]
    const ops: Hash[] = [await rig.addOp(V07), await rig.addOp(V07), await rig.addOp(V07)]
    // What one and two of these ops cost at the bundle's gas limit and fees (the proposer's 90% cap).
    const chainSpec = chainSpecFor(rig.chain.chainId)
    const est = await new FeeEstimator({ client: rig.chain.client, chainSpec }).estimate()
    const fee = bundleFees({
      baseFee: est.baseFee,
      priorityFee: est.priorityFee,
      baseFeeOverheadPercent: 27,
      priorityFeeOverheadPercent: 0,
    }).maxFeePerGas
    const pooled = await rig.pool.dumpMempool(ep)
    const cost = (n: number) => {
      const first = pooled.slice(0, n)
      const data = encodeBundleCall(entryPointOfVersion(V07), [{ ops: first }], rig!.signer.address)
      return (bundleGas(entryPointOfVersion(V07), first, data, 'simulated') * fee * 100n) / 90n
    }
    const setBalance = (wei: bigint) =>
      rig!.rpc('anvil_setBalance', [rig!.signer.address, `0x${wei.toString(16)}`])

    await setBalance(cost(1) / 2n)
    expect(await rig.sendBundleNowBounded()).toEqual({ kind: 'no_bundle', reason: 'insufficient_balance' })
    expect(rig.logsOf('signer balance cannot pay the next bundle; waiting to be funded')).toHaveLength(1)
    expect(await rig.pendingTxs()).toEqual([])

    await setBalance((cost(1) + cost(2)) / 2n)
    const one = rig.sendBundleNowBounded()
    const bundle = await rig.waitPending(() => true, 'the capped bundle')
    await rig.mine()
    expect(await one).toMatchObject({ kind: 'mined', txHash: bundle.hash })
    const minedNow = (await Promise.all(ops.map(async (h) => (await rig!.pool.getMinedOp(h)) !== undefined)))
      .map((m, i) => (m ? ops[i] : undefined))
      .filter(Boolean)
    expect(minedNow).toEqual([ops[0]])
    for (const h of ops.slice(1)) expect(await rig.pool.getOp(h)).toBeDefined()

    await setBalance(10n ** 21n)
    const rest = rig.sendBundleNowBounded()
    await rig.waitPending(() => true, 'the next bundle')
    await rig.mine()
    expect(await rest).toMatchObject({ kind: 'mined' })
    for (const h of ops) expect((await rig.opReceipt(V07, h)).success).toBe(true)
  })
})

describe('priority_fee_mode_kind=base_fee_percent', () => {
  it('an op must tip N% of the base fee: under it waits in the pool, and goes once the base fee falls', async () => {
    rig = await startSenderRig({
      settings: { mode: 'manual' },
      proposer: { priorityFeeMode: { kind: 'base_fee_percent', value: 50 } },
    })
    // Base fee 10 gwei (the next block's ~8.75): a tip must reach ~4.4 gwei.
    await rig.mine({ baseFee: 10n * GWEI })
    const rich = await rig.addOp(V07, { maxFeePerGas: OP_FEES.maxFeePerGas, maxPriorityFeePerGas: 7n * GWEI })
    const poor = await rig.addOp(V07, { maxFeePerGas: OP_FEES.maxFeePerGas, maxPriorityFeePerGas: 3n * GWEI })
    const first = rig.sendBundleNowBounded()
    const bundle = await rig.waitPending(() => true, 'the bundle')
    await rig.mine({ baseFee: 10n * GWEI })
    expect(await first).toMatchObject({ kind: 'mined', txHash: bundle.hash })
    expect((await rig.opReceipt(V07, rich)).receipt.transactionHash).toBe(bundle.hash)
    expect(await rig.pool.getOp(poor)).toBeDefined()

    // Base fee 2 gwei: ~0.9 gwei of tip is enough now.
    await rig.mine({ baseFee: 2n * GWEI })
    await rig.mine({ baseFee: 2n * GWEI })
    const second = rig.sendBundleNowBounded()
    const next = await rig.waitPending(() => true, 'the second bundle')
    await rig.mine()
    expect(await second).toMatchObject({ kind: 'mined', txHash: next.hash })
    expect((await rig.opReceipt(V07, poor)).success).toBe(true)
  })
})
