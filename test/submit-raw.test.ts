import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTransactionSender, RawTransactionSender, SendError } from '../src/builder/submit/index.js'
import { chainSpecFor } from '../src/chain/chain-spec.js'
import { buildOp, newOwner } from './harness/account.js'
import { startTestChain, type TestChain } from './harness/chain.js'
import { fundedSigner, mineAndGetReceipt, opOutcomes, signBundle } from './support/relay-bundle.js'

let chain: TestChain

beforeAll(async () => {
  chain = await startTestChain({ noMining: true })
})
afterAll(async () => {
  await chain?.stop()
})

const raw = () =>
  createTransactionSender({
    kind: 'raw',
    useConditionalRpc: false,
    nodeUrl: chain.url,
    chainId: chain.chainId,
    chainSpec: chainSpecFor(chain.chainId),
    fallback: { maxConsecutiveUnavailable: 3, recoveryMillis: 1_000 },
  })

describe('raw sender from createTransactionSender', () => {
  it('is the raw sender to the node; a bundle is mined and a hard cancellation replaces a pending one', async () => {
    const sender = await raw()
    expect(sender).toBeInstanceOf(RawTransactionSender)
    const signer = await fundedSigner(chain)
    const first = await buildOp(chain, 'v0.7', { owner: newOwner() })
    const b1 = await signBundle(chain, 'v0.7', [first.op], signer)
    expect(await sender.send(b1.raw)).toBe(b1.hash)
    const receipt = await mineAndGetReceipt(chain, b1.hash)
    expect(opOutcomes(chain, 'v0.7', receipt!).get(first.hash)).toBe(true)

    const second = await buildOp(chain, 'v0.7', { owner: newOwner() })
    const b2 = await signBundle(chain, 'v0.7', [second.op], signer)
    await sender.send(b2.raw)
    const fees = {
      maxFeePerGas: b2.fees.maxFeePerGas * 2n,
      maxPriorityFeePerGas: b2.fees.maxPriorityFeePerGas * 2n,
    }
    const cancel = await sender.cancel({ nonce: b2.nonce, fees, hash: b2.hash }, signer)
    expect(cancel.kind).toBe('hard')
    if (cancel.kind !== 'hard') return
    expect((await mineAndGetReceipt(chain, cancel.hash))?.status).toBe('success')
    expect(await chain.client.getTransactionReceipt({ hash: b2.hash }).catch(() => undefined)).toBeUndefined()

    // The node's word on a stale nonce arrives as the state machine's kind.
    const err = await sender.send(b2.raw).catch((e) => e)
    expect(err).toBeInstanceOf(SendError)
    expect(err.kind).toBe('nonce_too_low')
  })
})
