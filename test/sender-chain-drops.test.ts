/**
 * "Dropped" is not decided by a status node that has not seen the transaction: bundles go to anvil
 * directly (the submit endpoint) while the sender's status node is a tap in front of anvil that
 * does not know pending transactions (lagPendingTransactions), as a node behind a private relay or
 * a separate submit endpoint does not. The bundle stays pending a block (a full block), then is
 * mined: no needless replacement.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { TransactionSender } from '../src/builder/submit/types.js'
import { type SenderRig, startSenderRig } from './support/sender-rig.js'
import { waitFor } from './support/wait.js'

let rig: SenderRig | undefined
afterEach(async () => {
  await rig?.stop()
  rig = undefined
})

/** The raw sender without a status method: an endpoint that cannot say what it holds (like bloXroute's). */
const opaque = (raw: TransactionSender): TransactionSender => ({
  name: 'opaque',
  send: (tx, o) => raw.send(tx, o),
  cancel: (t, s) => raw.cancel(t, s),
})

/** Op in, bundle out, one full block (the bundle stays pending, unknown to the status node), one normal block. */
async function pendingOneBlockThenMined(r: SenderRig) {
  const op = await r.addOp('v0.7')
  await r.mine()
  const bundle = await r.waitPending(() => true, 'the bundle in the node')
  // The status node does not know it; anvil (the submit endpoint) does.
  await expect(r.statusClient.getTransaction({ hash: bundle.hash })).rejects.toThrow()
  const full = await r.mineFull()
  const verdict = await waitForHead(r, full)
  const replacementsSoFar = r.logsOf('bundle submitted').length
  await r.mine()
  await r.mineUntilMined([op])
  return { op, bundle, replacementsSoFar, verdict }
}

/** The sender has taken the head of `block` and judged its bundle there (and acted on the verdict). */
async function waitForHead(r: SenderRig, block: bigint) {
  await waitFor(() => r.sender.status().head === String(block), `the sender at block ${block}`)
  const verdict = await r.waitLog('transaction checked', (l) => l.block === String(block))
  if (verdict.dropped) await r.waitPending((t) => t.hash !== verdict.txHash, 'the replacement')
  return verdict
}

describe('drop detection behind a lagging status node', () => {
  it('the submit endpoint vouches for the pending bundle: no drop, no replacement, the original is mined', async () => {
    rig = await startSenderRig({ statusNode: 'lagging', settings: { maxBlocksToWaitForMine: 3 } })
    const { op, bundle, replacementsSoFar, verdict } = await pendingOneBlockThenMined(rig)
    // The endpoint that took it answered; the lagging node was not even asked.
    expect(verdict).toMatchObject({ accepting: 'pending', nodeKnows: 'not asked', dropped: false })
    expect(replacementsSoFar).toBe(1)
    expect(rig.logsOf('bundle dropped; rebuilding')).toEqual([])
    expect(rig.logsOf('bundle submitted')).toHaveLength(1)
    expect((await rig.opReceipt('v0.7', op)).receipt.transactionHash).toBe(bundle.hash)
  })

  it('an endpoint that cannot say: the grace period (2 blocks) outlasts the lag; no replacement', async () => {
    rig = await startSenderRig({
      statusNode: 'lagging',
      wrapSubmitter: opaque,
      settings: { maxBlocksToWaitForMine: 3, dropGraceBlocks: 2 },
    })
    const { op, bundle, verdict } = await pendingOneBlockThenMined(rig)
    expect(verdict).toMatchObject({ accepting: 'unknown', nodeKnows: false, dropped: false })
    expect(rig.logsOf('bundle dropped; rebuilding')).toEqual([])
    expect(rig.logsOf('bundle submitted')).toHaveLength(1)
    expect((await rig.opReceipt('v0.7', op)).receipt.transactionHash).toBe(bundle.hash)
  })

  it('(control) without a grace period the same lag looks like a drop and costs a needless replacement', async () => {
    rig = await startSenderRig({
      statusNode: 'lagging',
      wrapSubmitter: opaque,
      settings: { maxBlocksToWaitForMine: 3, dropGraceBlocks: 0 },
    })
    const { op, bundle } = await pendingOneBlockThenMined(rig)
    expect(rig.logsOf('bundle dropped; rebuilding').length).toBeGreaterThan(0)
    expect((await rig.opReceipt('v0.7', op)).receipt.transactionHash).not.toBe(bundle.hash)
  })
})
