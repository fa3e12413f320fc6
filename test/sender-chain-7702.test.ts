import { afterEach, describe, expect, it } from 'vitest'
import { delegationCode } from '../src/chain/eip7702.js'
import { newOwner } from './harness/account.js'
import { build7702Op, implementation, signAuth } from './harness/eip7702.js'
import { OP_FEES, type SenderRig, showLogsIfFailed, startSenderRig } from './support/sender-rig.js'
import { waitFor } from './support/wait.js'

let rig: SenderRig | undefined
afterEach(async (ctx) => {
  if (rig) showLogsIfFailed(rig, ctx.task.result?.state === 'fail')
  await rig?.stop()
  rig = undefined
})

const ceil110 = (v: bigint) => (v * 110n + 99n) / 100n

describe('a type-4 bundle that goes wrong (anvil mined by the test)', () => {
  it('not mined in time → its replacement is type 4 again, with the authorization, same nonce, fees +10% → mined and delegated', async () => {
    rig = await startSenderRig()
    const { chain } = rig
    const owner = newOwner()
    const impl = implementation(chain, 'v0.8')
    const auth = await signAuth(chain, owner, impl)
    const { op, hash } = await build7702Op(chain, 'v0.8', { owner, auth, fees: OP_FEES })
    expect(await rig.pool.addOp(chain.deployment.entryPoints['v0.8'], op)).toBe(hash)
    await rig.mine()
    const first = await rig.waitPending(() => true, 'the type-4 bundle in the node')
    const firstTx = await chain.client.getTransaction({ hash: first.hash })
    expect(firstTx.type).toBe('eip7702')
    await rig.mineFull()
    await rig.mineFull()
    const replacement = await rig.waitPending((t) => t.hash !== first.hash, 'the replacement')
    const tx = await chain.client.getTransaction({ hash: replacement.hash })
    expect(tx.type).toBe('eip7702')
    expect(tx.authorizationList).toEqual(firstTx.authorizationList)
    expect(tx.nonce).toBe(firstTx.nonce)
    expect(tx.maxFeePerGas).toBeGreaterThanOrEqual(ceil110(first.maxFeePerGas))
    expect(tx.maxPriorityFeePerGas).toBeGreaterThanOrEqual(ceil110(first.maxPriorityFeePerGas))
    await rig.mineUntilMined([hash])
    const r = await rig.opReceipt('v0.8', hash)
    expect(r.success).toBe(true)
    expect(r.receipt.transactionHash).toBe(replacement.hash)
    expect((await chain.client.getCode({ address: owner.address }))?.toLowerCase()).toBe(delegationCode(impl))
  })

  it("the authority's own transaction pending in the node → no bundle (the op waits); once it is mined the op is dropped with its reason", async () => {
    rig = await startSenderRig()
    const { chain } = rig
    const owner = newOwner()
    const auth = await signAuth(chain, owner, implementation(chain, 'v0.8'))
    const { op, hash } = await build7702Op(chain, 'v0.8', { owner, auth, fees: OP_FEES })
    expect(await rig.pool.addOp(chain.deployment.entryPoints['v0.8'], op)).toBe(hash)
    // The EOA's own transaction reaches the node before any bundle: it will consume nonce 0.
    const { createWalletClient, http } = await import('viem')
    const wallet = createWalletClient({ account: owner, transport: http(chain.url) })
    const own = await wallet.sendTransaction({ chain: null, to: owner.address, value: 0n, nonce: 0 })
    // Asked to bundle now, with that transaction pending: the authorization is about to be consumed.
    const now = await rig.sendBundleNowBounded()
    // The op is skipped (authorization_pending), not rejected: no bundle, and it stays pooled.
    expect(now).toMatchObject({ kind: 'no_bundle', reason: 'no_ops' })
    expect(await rig.pendingTxs()).toEqual([])
    expect(await rig.pool.getOp(hash)).toBeDefined()
    await rig.mine() // mines the EOA's transaction: the op leaves the pool
    expect((await chain.client.getTransactionReceipt({ hash: own })).status).toBe('success')
    const pool = rig.pool
    await waitFor(async () => {
      await pool.settled()
      return (await pool.getOp(hash)) === undefined
    }, 'the op to leave the pool')
    // The pool's sweep or the proposer's re-check, whichever sees the block first, states why.
    const reason =
      pool.droppedReason(hash) ??
      (rig.logsOf('op rejected by the proposer').find((l) => l.userOpHash === hash)?.reason as string)
    expect(reason).toContain('eip7702Auth: nonce 0 of')
    expect(reason).toContain('was consumed on chain')
    expect(await rig.pool.getOp(hash)).toBeUndefined()
    await rig.mine()
    expect(await rig.pendingTxs()).toEqual([])
  })
})
