import { afterEach, describe, expect, it } from 'vitest'
import { GWEI, OP_FEES, type SenderRig, showLogsIfFailed, startSenderRig } from './support/sender-rig.js'
import { waitFor } from './support/wait.js'

let rig: SenderRig | undefined
afterEach(async (ctx) => {
  // A failed scenario shows what the driver did.
  if (rig) showLogsIfFailed(rig, ctx.task.result?.state === 'fail')
  await rig?.stop()
  rig = undefined
})

describe('bundle sender on a chain mined by the test', () => {
  it('ops in → bundles mined → receipts; the pool is empty', async () => {
    rig = await startSenderRig()
    const a = await rig.addOp('v0.7')
    const b = await rig.addOp('v0.7')
    const c = await rig.addOp('v0.8')
    await rig.mineUntilMined([a, b, c])
    for (const [version, h] of [
      ['v0.7', a],
      ['v0.7', b],
      ['v0.8', c],
    ] as const) {
      const r = await rig.opReceipt(version, h)
      expect(r.receipt.status).toBe('success')
      expect(r.success).toBe(true)
      expect(r.receipt.from.toLowerCase()).toBe(rig.signer.address.toLowerCase())
      expect(await rig.pool.getOp(h)).toBeUndefined()
    }
    // Both v0.7 ops went in one bundle.
    expect((await rig.opReceipt('v0.7', a)).receipt.transactionHash).toBe(
      (await rig.opReceipt('v0.7', b)).receipt.transactionHash,
    )
    for (const ep of Object.values(rig.chain.deployment.entryPoints)) {
      expect(await rig.pool.dumpMempool(ep)).toEqual([])
    }
    expect(rig.sender.status().state).toBe('Building')
  })
})

describe('a pending bundle that goes wrong', () => {
  it('dropped from the node → seen as dropped → resent at the same nonce, fees raised → mined', async () => {
    rig = await startSenderRig()
    const op = await rig.addOp('v0.7')
    await rig.mine() // a head triggers the build
    const first = await rig.waitPending(() => true, 'the bundle in the node')
    await rig.rpc('anvil_dropTransaction', [first.hash])
    expect(await rig.pendingTxs()).toEqual([])
    await rig.mine() // an empty block: the driver looks for its tx and finds it gone
    await rig.waitLog('bundle dropped; rebuilding', (l) => l.txHash === first.hash)
    const resent = await rig.waitPending((t) => t.hash !== first.hash, 'the resent bundle')
    expect(resent.nonce).toBe(first.nonce)
    expect(resent.maxFeePerGas).toBeGreaterThanOrEqual(ceil110(first.maxFeePerGas))
    expect(resent.maxPriorityFeePerGas).toBeGreaterThanOrEqual(ceil110(first.maxPriorityFeePerGas))
    await rig.mineUntilMined([op])
    const r = await rig.opReceipt('v0.7', op)
    expect(r.success).toBe(true)
    expect(r.receipt.transactionHash).toBe(resent.hash)
    expect(r.nonce).toBe(first.nonce)
    expect(await rig.pool.getOp(op)).toBeUndefined()
  })

  it('base fee above its maxFee → anvil evicts it → resent at the same nonce, both fees +10%, paying the new base fee → mined', async () => {
    rig = await startSenderRig()
    const op = await rig.addOp('v0.7')
    await rig.mine()
    const first = await rig.waitPending(() => true, 'the bundle in the node')
    const high = first.maxFeePerGas * 3n
    expect(high + 10n * GWEI).toBeLessThan(OP_FEES.maxFeePerGas) // the ops can still pay it
    // anvil (unlike geth) evicts a transaction that cannot pay the block's base fee when it mines:
    // for the driver that is a dropped bundle.
    await rig.mine({ baseFee: high })
    expect(await rig.chain.client.getTransaction({ hash: first.hash }).catch(() => undefined)).toBeUndefined()
    const replacement = await rig.waitPending((t) => t.hash !== first.hash, 'the resent bundle')
    const tx = await rig.chain.client.getTransaction({ hash: replacement.hash })
    expect(tx.nonce).toBe(Number(first.nonce))
    expect(tx.maxFeePerGas).toBeGreaterThanOrEqual(ceil110(first.maxFeePerGas))
    expect(tx.maxPriorityFeePerGas).toBeGreaterThanOrEqual(ceil110(first.maxPriorityFeePerGas))
    expect(tx.maxFeePerGas).toBeGreaterThan(high)
    await rig.mine({ baseFee: high })
    await rig.mineUntilMined([op])
    const r = await rig.opReceipt('v0.7', op)
    expect(r.success).toBe(true)
    expect(r.receipt.transactionHash).toBe(replacement.hash)
    expect(r.receipt.effectiveGasPrice).toBeGreaterThanOrEqual(high)
  })

  it('not mined for max_blocks_to_wait_for_mine blocks (full blocks) → a replacement at the same nonce with both fees +10% → mined', async () => {
    rig = await startSenderRig()
    const op = await rig.addOp('v0.7')
    await rig.mine()
    const first = await rig.waitPending(() => true, 'the bundle in the node')
    // Blocks filled by a higher tip: the bundle stays pending, unmined.
    await rig.mineFull()
    expect(await rig.pendingTxs()).toEqual([first])
    expect(rig.logsOf('bundle not mined in time; replacing')).toHaveLength(0)
    await rig.mineFull() // max_blocks_to_wait_for_mine (2) blocks after the one it was sent at
    const replacement = await rig.waitPending((t) => t.hash !== first.hash, 'the replacement')
    await rig.waitLog('bundle not mined in time; replacing', (l) => l.txHash === first.hash)
    // Read back from the node, as signed.
    const tx = await rig.chain.client.getTransaction({ hash: replacement.hash })
    expect(tx.nonce).toBe(Number(first.nonce))
    expect(tx.maxFeePerGas).toBeGreaterThanOrEqual(ceil110(first.maxFeePerGas))
    expect(tx.maxPriorityFeePerGas).toBeGreaterThanOrEqual(ceil110(first.maxPriorityFeePerGas))
    await rig.mineUntilMined([op])
    const r = await rig.opReceipt('v0.7', op)
    expect(r.success).toBe(true)
    expect(r.receipt.transactionHash).toBe(replacement.hash)
    expect(await rig.chain.client.getTransactionReceipt({ hash: first.hash }).catch(() => undefined)).toBe(
      undefined,
    )
    expect(rig.logsOf('bundle not mined in time; replacing')).toHaveLength(1)
  })

  it("the signer's nonce used by an outside transaction → nonce re-read → the ops are mined in a later bundle", async () => {
    rig = await startSenderRig()
    const op = await rig.addOp('v0.7')
    await rig.mine()
    const bundle = await rig.waitPending(() => true, 'the bundle in the node')
    // Another process with the same key takes the nonce (a plain transfer that outbids the bundle).
    const outside = await rig.signer.signTransaction({
      type: 'eip1559',
      chainId: rig.chain.chainId,
      nonce: Number(bundle.nonce),
      to: rig.signer.address,
      value: 1n,
      gas: 21_000n,
      maxFeePerGas: bundle.maxFeePerGas * 2n,
      maxPriorityFeePerGas: bundle.maxPriorityFeePerGas * 2n,
    })
    const outsideHash = await rig.rpc<`0x${string}`>('eth_sendRawTransaction', [outside])
    await rig.mine()
    expect((await rig.chain.client.getTransactionReceipt({ hash: outsideHash })).status).toBe('success')
    await rig.waitLog('nonce synced', (l) => l.to === String(bundle.nonce + 1n))
    expect(await rig.pool.getOp(op)).toBeDefined() // the lost bundle's op stayed pooled
    await rig.mineUntilMined([op])
    const r = await rig.opReceipt('v0.7', op)
    expect(r.success).toBe(true)
    expect(r.nonce).toBe(bundle.nonce + 1n)
    expect(
      await rig.chain.client.getTransactionReceipt({ hash: bundle.hash }).catch(() => undefined),
    ).toBeUndefined()
  })
})

describe('triggers', () => {
  it('manual mode: sendBundleNow resolves with the mined tx hash; with an empty pool it says no_bundle', async () => {
    rig = await startSenderRig({ settings: { mode: 'manual', bundleMaxSendIntervalMillis: 200 } })
    const op = await rig.addOp('v0.8')
    // Blocks alone do not build in manual mode.
    await rig.mine()
    await rig.mine()
    expect(await rig.pendingTxs()).toEqual([])
    expect(await rig.pool.getOp(op)).toBeDefined()

    const result = rig.sendBundleNowBounded()
    const bundle = await rig.waitPending(() => true, 'the bundle in the node')
    await rig.mine()
    const r = await result
    expect(r).toMatchObject({ kind: 'mined', txHash: bundle.hash })
    const receipt = await rig.opReceipt('v0.8', op)
    expect(receipt.receipt.transactionHash).toBe(bundle.hash)
    expect(receipt.success).toBe(true)

    // Nothing to bundle: a clear answer, not a hang (and no transaction).
    expect(await rig.sendBundleNowBounded()).toEqual({ kind: 'no_bundle', reason: 'no_ops' })
    expect(await rig.pendingTxs()).toEqual([])
  })

  it('auto mode with no new blocks: the send-interval timer submits the bundle', async () => {
    rig = await startSenderRig({ settings: { bundleMaxSendIntervalMillis: 300 } })
    const before = await rig.chain.client.getBlockNumber({ cacheTime: 0 })
    const op = await rig.addOp('v0.7')
    const bundle = await rig.waitPending(() => true, 'the bundle in the node')
    expect(await rig.chain.client.getBlockNumber({ cacheTime: 0 })).toBe(before)
    expect(rig.logs.some((l) => l.msg === 'trigger' && l.source === 'timer')).toBe(true)
    await rig.mineUntilMined([op])
    expect((await rig.opReceipt('v0.7', op)).receipt.transactionHash).toBe(bundle.hash)
  })
})

describe('a sender whose heads lag the chain', () => {
  it('blocks mined before the submission do not count towards max_blocks_to_wait_for_mine', async () => {
    rig = await startSenderRig({ settings: { mode: 'manual' } })
    const op = await rig.addOp('v0.7')
    const b0 = await rig.mine()
    await waitFor(() => rig!.sender.status().head === String(b0), 'the sender to see the chain head')
    rig.heads.setLimit(b0) // the pool is slow to tell the sender about the next blocks
    await rig.mine()
    await rig.mine()
    const result = rig.sendBundleNowBounded()
    const bundle = await rig.waitPending(() => true, 'the bundle in the node')
    rig.heads.setLimit(undefined) // two heads arrive, both from before the bundle was sent
    await waitFor(() => rig!.sender.status().head === String(b0 + 2n), 'the late heads')
    expect(rig.sender.status().state).toBe('Pending')
    expect(rig.logsOf('bundle not mined in time; replacing')).toEqual([])
    await rig.mine()
    expect(await result).toMatchObject({ kind: 'mined', txHash: bundle.hash })
    expect((await rig.opReceipt('v0.7', op)).receipt.transactionHash).toBe(bundle.hash)
  })

  it('the bundle mined while its replacement is being built: sendBundleNow still answers mined', async () => {
    rig = await startSenderRig({ settings: { mode: 'manual' } })
    const op = await rig.addOp('v0.7')
    const result = rig.sendBundleNowBounded()
    const bundle = await rig.waitPending(() => true, 'the bundle in the node')
    const sentAt = await rig.chain.client.getBlockNumber({ cacheTime: 0 })
    await waitFor(() => rig!.sender.status().state === 'Pending', 'Pending')
    rig.heads.setLimit(sentAt)
    await rig.mineFull()
    await rig.mineFull()
    await rig.mine() // the bundle lands, but the sender has not heard yet
    const receipt = await rig.chain.client.getTransactionReceipt({ hash: bundle.hash })
    expect(receipt.blockNumber).toBe(sentAt + 3n)
    // The sender learns of the two full blocks only: time is up, it builds a replacement, and finds
    // its ops gone (mined).
    rig.heads.setLimit(sentAt + 2n)
    await rig.waitLog('bundle not mined in time; replacing')
    await waitFor(() => rig!.sender.status().phase !== 'proposing', 'the replacement proposal to end')
    rig.heads.setLimit(undefined)
    expect(await result).toMatchObject({ kind: 'mined', txHash: bundle.hash })
    // The pool follows the chain on its own (it may be slower than the sender's own check).
    await waitFor(async () => (await rig!.pool.getMinedOp(op)) !== undefined, 'the pool to see the op mined')
    expect(await rig.pool.getMinedOp(op)).toMatchObject({ transactionHash: bundle.hash, success: true })
    await waitFor(() => rig!.sender.status().nonce === String(bundle.nonce + 1n), 'the nonce to move on')
    expect(await rig.pendingTxs()).toEqual([])
  })
})

describe('a reorg', () => {
  it('un-mines a bundle: the nonce is re-read and the ops, back in the pool, are bundled again on the new branch', async () => {
    rig = await startSenderRig()
    const op = await rig.addOp('v0.7')
    const snapshot = await rig.rpc<string>('evm_snapshot')
    await rig.mineUntilMined([op])
    const first = await rig.opReceipt('v0.7', op)
    expect(first.nonce).toBe(0n)
    await waitFor(() => rig!.sender.status().nonce === '1', 'the nonce to move on')

    // Back to before the bundle; a longer branch without it (the pool's watcher goes by block number,
    // so the reorg shows once the new branch outgrows the old one).
    expect(await rig.rpc('evm_revert', [snapshot])).toBe(true)
    await rig.rpc('anvil_dropAllTransactions')
    for (let i = 0; i < 3; i++) await rig.mine()
    await waitFor(async () => (await rig!.pool.getOp(op)) !== undefined, 'the op back in the pool')
    await rig.waitLog('reorg: head went back')
    await rig.mineUntilMined([op])
    const again = await rig.opReceipt('v0.7', op)
    expect(again.success).toBe(true)
    expect(again.nonce).toBe(0n) // the nonce the reorg gave back, not 1
    expect(again.receipt.blockHash).not.toBe(first.receipt.blockHash)
    expect(await rig.pool.getOp(op)).toBeUndefined()
  })
})

describe('a failing RPC endpoint', () => {
  it('the submit URL refuses connections for a while: the driver keeps going and lands the ops when it is back', async () => {
    rig = await startSenderRig()
    await rig.submitProxy.setMode('refuse')
    const op = await rig.addOp('v0.7')
    await rig.mine()
    await rig.waitLog('bundle send failed', (l) => l.error === 'unavailable')
    await rig.mine() // another attempt, still refused
    await waitFor(
      () => rig!.logsOf('bundle send failed').filter((l) => l.error === 'unavailable').length >= 2,
      'a second refused send',
    )
    expect(await rig.pendingTxs()).toEqual([])
    expect(rig.sender.status().state).toBe('Building')

    await rig.submitProxy.setMode('pass')
    await rig.mineUntilMined([op])
    const r = await rig.opReceipt('v0.7', op)
    expect(r.success).toBe(true)
    expect(r.nonce).toBe(0n)
    expect(rig.logs.filter((l) => l.msg === 'bundle sender run failed; starting over')).toEqual([])
  })

  it('the node took the bundle but the answer was lost: counted as maybe sent, recognised when mined', async () => {
    let lost = 0
    rig = await startSenderRig({
      wrapSubmitter: (raw) => ({
        name: 'lossy',
        cancel: (t, signer) => raw.cancel(t, signer),
        async send(tx, o) {
          await raw.send(tx, o)
          lost++
          throw new Error('socket hang up') // the response never came back
        },
      }),
    })
    const op = await rig.addOp('v0.7')
    await rig.mine()
    const failed = await rig.waitLog('bundle send failed', (l) => l.error === 'unavailable')
    const inNode = await rig.waitPending(() => true, 'the bundle in the node')
    expect(inNode.hash).toBe(failed.txHash)
    expect(lost).toBe(1)
    await rig.mine()
    await rig.waitLog('bundle mined', (l) => l.txHash === inNode.hash)
    expect(await rig.pool.getMinedOp(op)).toMatchObject({ transactionHash: inNode.hash, success: true })
    await waitFor(() => rig!.sender.status().nonce === '1', 'the nonce to move on')
    expect(lost).toBe(1) // nothing resent at the spent nonce
  })
})

function ceil110(x: bigint): bigint {
  return (x * 110n + 99n) / 100n
}
