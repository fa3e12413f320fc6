/**
 * The seed's underpriced meta-state on anvil (mined by the test): a transaction from the signer's
 * key that the ops cannot outbid holds the nonce, so resends are answered "replacement underpriced"
 * until the raised fees price the ops out; the meta-state then leads to a cancellation after
 * max_replacement_underpriced_blocks. (The soft-cancelling Flashbots relay variant is in
 * builder-wiring-flashbots.test.ts.)
 */
import { type Hash, numberToHex } from 'viem'
import { afterEach, describe, expect, it } from 'vitest'
import { GWEI, type LogLine, type SenderRig, showLogsIfFailed, startSenderRig } from './support/sender-rig.js'
import { waitFor } from './support/wait.js'

let rig: SenderRig | undefined
afterEach(async (ctx) => {
  if (rig) showLogsIfFailed(rig, ctx.task.result?.state === 'fail')
  await rig?.stop()
  rig = undefined
})

const OP_FEES = { maxFeePerGas: 100n * GWEI, maxPriorityFeePerGas: 2n * GWEI }

/**
 * The op's bundle goes out; then the same key sends a transaction at its nonce with fees no op can
 * outbid (tip `competingGwei`) and a gas limit no block holds once the limit drops: it stays
 * pending, and the bundle is gone from the node. Returns the op, the bundle and the competitor.
 */
async function blockedByCompetitor(r: SenderRig, competingGwei: bigint) {
  const op = await r.addOp('v0.7', OP_FEES)
  await r.mine()
  const bundle = await r.waitPending(() => true, 'the bundle in the node')
  const competing = await r.signer.signTransaction({
    type: 'eip1559',
    chainId: r.chain.chainId,
    nonce: Number(bundle.nonce),
    to: r.signer.address,
    gas: 20_000_000n,
    maxFeePerGas: competingGwei * GWEI,
    maxPriorityFeePerGas: competingGwei * GWEI,
  })
  const competingHash = await r.rpc<Hash>('eth_sendRawTransaction', [competing])
  await r.rpc('evm_setBlockGasLimit', [numberToHex(5_000_000n)])
  const pooled = async () => (await r.pendingTxs()).map((t) => t.hash)
  await waitFor(async () => (await pooled()).includes(competingHash), 'the competing tx in the node')
  expect(await pooled()).toEqual([competingHash])
  return { op, bundle, competingHash }
}

/** Mines one block at a time until a log line with `msg` appears (bounded), each once the sender waits on the chain. */
async function mineUntilLog(r: SenderRig, msg: string, maxBlocks = 12): Promise<LogLine> {
  const waitsOnChain = () => {
    const s = r.sender.status()
    return (
      s.state === 'Pending' || s.state === 'CancelPending' || (s.state === 'Building' && s.phase === 'idle')
    )
  }
  for (let i = 0; i < maxBlocks && !r.logs.some((l) => l.msg === msg); i++) {
    const block = String(await r.mine())
    await waitFor(() => r.sender.status().head === block && waitsOnChain(), 'the sender to settle', {
      timeoutMs: 10_000,
    })
  }
  return r.waitLog(msg)
}

/** The first log line with `msg` after the line `after`. */
function indexOf(r: SenderRig, msg: string, pred: (l: LogLine) => boolean = () => true): number {
  return r.logs.findIndex((l) => l.msg === msg && pred(l))
}

describe('the underpriced meta-state', () => {
  it('(a) "replacement underpriced" → fees raised until the ops are priced out → meta-state → after N blocks a hard cancellation, mined → Building → the next bundle mined', async () => {
    rig = await startSenderRig({ settings: { maxReplacementUnderpricedBlocks: 3 } })
    const { op, bundle, competingHash } = await blockedByCompetitor(rig, 10n)

    // The driver finds its bundle gone, resends over its floor, hears "replacement underpriced" until
    // no op pays the raised tip, then waits max_replacement_underpriced_blocks blocks and cancels.
    const sent = await mineUntilLog(rig, 'hard cancellation sent')
    const refused = indexOf(rig, 'bundle send failed', (l) => l.error === 'replacement_underpriced')
    const meta = indexOf(rig, 'underpriced: ops priced out of a replacement')
    expect(refused).toBeGreaterThanOrEqual(0)
    // The seed's entry condition: the meta-state follows a "replacement underpriced" answer.
    expect(meta).toBeGreaterThan(refused)
    const metaLine = rig.logs[meta] as LogLine
    const cancelStarted = rig.logsOf('cancelling blocked nonce')[0] as LogLine
    expect(Number(cancelStarted.nonce)).toBe(Number(bundle.nonce))
    // Only once the meta-state has lasted more than max_replacement_underpriced_blocks (3) blocks.
    expect(BigInt(cancelStarted.block as string) - BigInt(metaLine.block as string)).toBeGreaterThan(3n)

    const cancelHash = sent.txHash as Hash
    expect((await rig.pendingTxs()).map((t) => t.hash)).toEqual([cancelHash])
    await rig.mine()
    const cancelReceipt = await rig.chain.client.getTransactionReceipt({ hash: cancelHash })
    expect(cancelReceipt.status).toBe('success')
    const cancelTx = await rig.chain.client.getTransaction({ hash: cancelHash })
    expect(cancelTx.nonce).toBe(Number(bundle.nonce))
    expect(cancelTx.to?.toLowerCase()).toBe(rig.signer.address.toLowerCase())
    expect(cancelTx.input).toBe('0x')
    expect(cancelTx.value).toBe(0n)
    expect(await rig.chain.client.getTransactionReceipt({ hash: competingHash }).catch(() => undefined)).toBe(
      undefined,
    )
    await waitFor(() => rig!.sender.status().state === 'Building', 'Building after the cancellation')

    // Bundling resumes at the next nonce and the ops land.
    await rig.mineUntilMined([op])
    const r = await rig.opReceipt('v0.7', op)
    expect(r.success).toBe(true)
    expect(r.nonce).toBe(bundle.nonce + 1n)
    expect(await rig.pool.getOp(op)).toBeUndefined()
  })

  it('(c) the cancellation abandoned after max_cancellation_fee_increases → Building with the tracker reset; the next bundle uses the right nonce', async () => {
    rig = await startSenderRig({
      settings: { maxReplacementUnderpricedBlocks: 1, maxCancellationFeeIncreases: 2 },
    })
    // A competitor no cancellation within two 10% raises can outbid.
    const { op, bundle, competingHash } = await blockedByCompetitor(rig, 50n)
    await mineUntilLog(rig, 'cancellation abandoned; resetting')
    const cancels = rig.logsOf('cancelling blocked nonce')
    expect(cancels.map((l) => Number(l.feeIncreases))).toEqual([0, 1, 2])
    expect(
      rig.logsOf('cancellation failed').filter((l) => l.error === 'replacement_underpriced'),
    ).toHaveLength(3)
    // "Reset internal state": the tracker forgets the episode (its transactions, floor, refusals)
    // and starts over from the chain's nonce, where the competitor still sits.
    const reset = await rig.waitLog('tracker reset')
    expect(Number(reset.nonce)).toBe(Number(bundle.nonce))
    expect(indexOf(rig, 'tracker reset')).toBeGreaterThan(indexOf(rig, 'cancellation abandoned; resetting'))
    expect(rig.logsOf('hard cancellation sent')).toEqual([])

    // The competitor gets mined at that nonce: the next bundle goes out at the nonce after it.
    await rig.rpc('evm_setBlockGasLimit', [numberToHex(30_000_000n)])
    await rig.mine()
    expect((await rig.chain.client.getTransactionReceipt({ hash: competingHash })).status).toBe('success')
    await rig.mineUntilMined([op])
    const r = await rig.opReceipt('v0.7', op)
    expect(r.success).toBe(true)
    expect(r.nonce).toBe(bundle.nonce + 1n)
    expect(r.receipt.from.toLowerCase()).toBe(rig.signer.address.toLowerCase())
  })
})
