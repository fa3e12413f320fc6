import { type Address, type Hash, type Hex, pad } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ConditionalTransactionSender,
  createTransactionSender,
  type ExpectedStorage,
  probeConditionalSupport,
  recheckStorage,
  SendError,
  SenderConfigError,
} from '../src/builder/submit/index.js'
import { chainSpecFor } from '../src/chain/chain-spec.js'
import type { UserOperation } from '../src/chain/userop.js'
import { buildOp, newOwner } from './harness/account.js'
import { bundleOps } from './harness/bundle.js'
import { startTestChain, type TestChain } from './harness/chain.js'
import { fundedSigner, mineAndGetReceipt, opOutcomes, signBundle } from './support/relay-bundle.js'
import { type ConditionalEndpoint, startConditionalEndpoint } from './support/relay-conditional.js'

let chain: TestChain
let endpoint: ConditionalEndpoint
const OWNER_SLOT: Hex = '0x0'

beforeAll(async () => {
  chain = await startTestChain({ noMining: true })
  endpoint = await startConditionalEndpoint(chain.url)
})
afterAll(async () => {
  await endpoint?.close()
  await chain?.stop()
})

const settings = (submitUrl: string) => ({
  kind: 'raw' as const,
  useConditionalRpc: true,
  submitUrl,
  nodeUrl: chain.url,
  chainId: chain.chainId,
  chainSpec: chainSpecFor(chain.chainId),
  fallback: { maxConsecutiveUnavailable: 3, recoveryMillis: 1_000 },
})

/** A deployed SimpleAccount and the op it would send next, with the storage its validation reads. */
async function deployedAccountOp(): Promise<{
  op: UserOperation
  hash: Hash
  sender: Address
  storage: ExpectedStorage
}> {
  const owner = newOwner()
  const first = await buildOp(chain, 'v0.7', { owner })
  await bundleOps(chain, 'v0.7', [first.op], { mine: true })
  const next = await buildOp(chain, 'v0.7', { owner })
  const slot0 = await chain.client.getStorageAt({ address: next.sender, slot: OWNER_SLOT })
  // SimpleAccount keeps its owner in slot 0: what validateUserOp reads to check the signature.
  expect(slot0).toBe(pad(owner.address.toLowerCase() as Hex, { size: 32 }))
  return { ...next, storage: { [next.sender]: { [OWNER_SLOT]: slot0 as Hex } } }
}

describe('conditional sender (eth_sendRawTransactionConditional)', () => {
  it('refuses a bundle whose account storage changed; the next bundle leaves that op out and is mined', async () => {
    const sender = await createTransactionSender(settings(endpoint.url))
    expect(sender).toBeInstanceOf(ConditionalTransactionSender)
    const a = await deployedAccountOp()
    const b = await deployedAccountOp()
    const expected: ExpectedStorage = { ...a.storage, ...b.storage }

    // Between simulation and inclusion, B's owner changes.
    await chain.client.request({
      method: 'anvil_setStorageAt' as never,
      params: [b.sender, pad(OWNER_SLOT, { size: 32 }), pad(newOwner().address, { size: 32 })] as never,
    })

    const signer = await fundedSigner(chain)
    const bundle1 = await signBundle(chain, 'v0.7', [a.op, b.op], signer)
    const err = await sender.send(bundle1.raw, { expectedStorage: expected }).catch((e) => e)
    expect(err).toBeInstanceOf(SendError)
    expect(err.kind).toBe('condition_not_met')
    expect(endpoint.conditionalCalls.at(-1)?.met).toBe(false)
    expect(Object.keys(endpoint.conditionalCalls.at(-1)?.knownAccounts ?? {}).sort()).toEqual(
      [a.sender, b.sender].sort(),
    )

    // The state machine's re-check: which ops' storage changed.
    const changed = await recheckStorage(chain.client, expected)
    expect(changed).toEqual([b.sender])
    const keep = [a].filter((x) => !changed.includes(x.sender))
    const bundle2 = await signBundle(
      chain,
      'v0.7',
      keep.map((x) => x.op),
      signer,
    )
    expect(bundle2.nonce).toBe(bundle1.nonce)
    expect(await sender.send(bundle2.raw, { expectedStorage: a.storage })).toBe(bundle2.hash)
    expect(endpoint.conditionalCalls.at(-1)?.met).toBe(true)
    const receipt = await mineAndGetReceipt(chain, bundle2.hash)
    expect(receipt?.status).toBe('success')
    const outcomes = opOutcomes(chain, 'v0.7', receipt!)
    expect(outcomes.get(a.hash)).toBe(true)
    expect(outcomes.has(b.hash)).toBe(false)
  })

  it('-32005 from the conditional method is also "condition not met"', async () => {
    endpoint.conditionErrorCode = -32005
    try {
      const sender = await createTransactionSender(settings(endpoint.url))
      const a = await deployedAccountOp()
      const signer = await fundedSigner(chain)
      const bundle = await signBundle(chain, 'v0.7', [a.op], signer)
      const wrong = { [a.sender]: { [OWNER_SLOT]: pad('0x1234', { size: 32 }) } }
      const err = await sender.send(bundle.raw, { expectedStorage: wrong }).catch((e) => e)
      expect(err.kind).toBe('condition_not_met')
    } finally {
      endpoint.conditionErrorCode = -32003
    }
  })

  it('cancels hard through the endpoint: the empty transaction is mined instead of the bundle', async () => {
    const sender = await createTransactionSender(settings(endpoint.url))
    const a = await deployedAccountOp()
    const signer = await fundedSigner(chain)
    const bundle = await signBundle(chain, 'v0.7', [a.op], signer)
    await sender.send(bundle.raw, { expectedStorage: a.storage })
    const fees = {
      maxFeePerGas: bundle.fees.maxFeePerGas * 2n,
      maxPriorityFeePerGas: bundle.fees.maxPriorityFeePerGas * 2n,
    }
    const result = await sender.cancel({ nonce: bundle.nonce, fees, hash: bundle.hash }, signer)
    expect(result.kind).toBe('hard')
    if (result.kind !== 'hard') return
    expect((await mineAndGetReceipt(chain, result.hash))?.status).toBe('success')
    expect(
      await chain.client.getTransactionReceipt({ hash: bundle.hash }).catch(() => undefined),
    ).toBeUndefined()
  })

  it('the start-up probe says clearly when the endpoint lacks the method', async () => {
    // anvil itself has no eth_sendRawTransactionConditional.
    expect((await probeConditionalSupport(chain.url)).kind).toBe('unsupported')
    expect((await probeConditionalSupport(endpoint.url)).kind).toBe('supported')
    const err = await createTransactionSender({ ...settings(chain.url), submitUrl: undefined }).catch(
      (e) => e,
    )
    expect(err).toBeInstanceOf(SenderConfigError)
    expect(err.message).toContain('--builder.use_conditional_rpc')
    expect(err.message).toContain('the node does not support eth_sendRawTransactionConditional')

    endpoint.supportsConditional = false
    try {
      const e2 = await createTransactionSender(settings(endpoint.url)).catch((e) => e)
      expect(e2).toBeInstanceOf(SenderConfigError)
      expect(e2.message).toContain('--builder.submit_url does not support')
    } finally {
      endpoint.supportsConditional = true
    }
    await endpoint.server.setHealth('down')
    try {
      expect((await probeConditionalSupport(endpoint.url, 2_000)).kind).toBe('unreachable')
    } finally {
      await endpoint.server.setHealth('up')
    }
  })
})
