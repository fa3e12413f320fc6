import type { Hex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTransactionSender, SendError, type TransactionSender } from '../src/builder/submit/index.js'
import { chainSpecFor } from '../src/chain/chain-spec.js'
import { buildOp, newOwner } from './harness/account.js'
import { startTestChain, type TestChain } from './harness/chain.js'
import {
  capturedLogger,
  fundedSigner,
  mineAndGetReceipt,
  opOutcomes,
  signBundle,
} from './support/relay-bundle.js'
import { type FlashbotsRelay, startFlashbotsRelay } from './support/relay-flashbots.js'

let chain: TestChain
let relay: FlashbotsRelay
const authKey = generatePrivateKey()
const authAddress = privateKeyToAccount(authKey).address

beforeAll(async () => {
  chain = await startTestChain({ noMining: true })
  relay = await startFlashbotsRelay(chain.url)
})
afterAll(async () => {
  await relay?.close()
  await chain?.stop()
})

function flashbots(
  key: Hex = authKey,
  extra: { logger?: ReturnType<typeof capturedLogger>['logger']; timeoutMillis?: number } = {},
) {
  return createTransactionSender({
    kind: 'flashbots',
    useConditionalRpc: false,
    submitUrl: relay.url,
    nodeUrl: chain.url,
    chainId: chain.chainId,
    chainSpec: chainSpecFor(chain.chainId),
    flashbotsRelayAuthKey: key,
    fallback: { maxConsecutiveUnavailable: 0, recoveryMillis: 0 },
    allowAnyChain: true,
    ...extra,
  })
}

async function bundle(sender: TransactionSender) {
  const signer = await fundedSigner(chain)
  const { op, hash: opHash } = await buildOp(chain, 'v0.7', { owner: newOwner() })
  const b = await signBundle(chain, 'v0.7', [op], signer)
  return { signer, opHash, b, send: () => sender.send(b.raw) }
}

describe('Flashbots Protect sender against a local relay', () => {
  it('submits a bundle with a verified X-Flashbots-Signature; the relay forwards it and it is mined', async () => {
    relay.hold = false
    const sender = await flashbots()
    const { b, opHash, send } = await bundle(sender)
    const before = relay.calls.length
    expect(await send()).toBe(b.hash)
    // The relay recovered the reputation key's address from the signature over the exact body.
    expect(relay.calls.slice(before)).toEqual([{ method: 'eth_sendPrivateTransaction', signer: authAddress }])
    expect(await sender.status?.(b.hash)).toBe('pending')
    const receipt = await mineAndGetReceipt(chain, b.hash)
    expect(receipt?.status).toBe('success')
    expect(opOutcomes(chain, 'v0.7', receipt!).get(opHash)).toBe(true)
    expect(await sender.status?.(b.hash)).toBe('included')
  })

  it('soft-cancels a private transaction: the relay reports it CANCELLED and it is never mined', async () => {
    relay.hold = true
    const sender = await flashbots()
    const { b, signer, send } = await bundle(sender)
    await send()
    expect(await sender.status?.(b.hash)).toBe('pending')
    const result = await sender.cancel({ nonce: b.nonce, fees: b.fees, hash: b.hash }, signer)
    expect(result).toEqual({ kind: 'soft' })
    expect(await relay.status(b.hash)).toBe('CANCELLED')
    expect(await sender.status?.(b.hash)).toBe('dropped')
    expect(await mineAndGetReceipt(chain, b.hash)).toBeUndefined()
    expect(await chain.client.getTransactionCount({ address: signer.address })).toBe(Number(b.nonce))
  })

  it('a FAILED private transaction counts as dropped', async () => {
    relay.hold = true
    const sender = await flashbots()
    const { b, send } = await bundle(sender)
    await send()
    await relay.fail(b.hash)
    expect(await sender.status?.(b.hash)).toBe('dropped')
  })

  it('a relay that forwarded and then lost the tx reports CANCELLED after a cancel: it leaves the chain mempool', async () => {
    relay.hold = false
    const sender = await flashbots()
    const { b, signer, send } = await bundle(sender)
    await send()
    expect(await sender.cancel({ nonce: b.nonce, fees: b.fees, hash: b.hash }, signer)).toEqual({
      kind: 'soft',
    })
    expect(await mineAndGetReceipt(chain, b.hash)).toBeUndefined()
    expect(await sender.status?.(b.hash)).toBe('dropped')
  })

  it('a refused cancellation is a rejected SendError and the transaction stays pending', async () => {
    relay.hold = true
    relay.rejectCancellation = true
    try {
      const sender = await flashbots()
      const { b, signer, send } = await bundle(sender)
      await send()
      const err = await sender.cancel({ nonce: b.nonce, fees: b.fees, hash: b.hash }, signer).catch((e) => e)
      expect(err).toBeInstanceOf(SendError)
      expect(err.kind).toBe('rejected')
      expect(err.message).toContain('cancellation rejected')
      expect(await sender.status?.(b.hash)).toBe('pending')
    } finally {
      relay.rejectCancellation = false
    }
  })

  it('cancelling an included transaction is refused', async () => {
    relay.hold = false
    const sender = await flashbots()
    const { b, signer, send } = await bundle(sender)
    await send()
    await mineAndGetReceipt(chain, b.hash)
    const err = await sender.cancel({ nonce: b.nonce, fees: b.fees, hash: b.hash }, signer).catch((e) => e)
    expect(err).toBeInstanceOf(SendError)
    expect(err.kind).toBe('rejected')
  })

  it('a hash the relay has not seen (the status API lagging) is unknown, not dropped', async () => {
    const sender = await flashbots()
    expect(await sender.status?.(`0x${'ab'.repeat(32)}`)).toBe('unknown')
  })

  it("passes the node's verdict through in the state machine's kinds (nonce too low)", async () => {
    relay.hold = false
    const sender = await flashbots()
    const { b, signer, send } = await bundle(sender)
    await send()
    await mineAndGetReceipt(chain, b.hash)
    const { op } = await buildOp(chain, 'v0.7', { owner: newOwner() })
    const stale = await signBundle(chain, 'v0.7', [op], signer, { nonce: b.nonce })
    const err = await sender.send(stale.raw).catch((e) => e)
    expect(err).toBeInstanceOf(SendError)
    expect(err.kind).toBe('nonce_too_low')
  })

  it('a wrong reputation key fails the first submission clearly, with no secret in the error or the log', async () => {
    relay.hold = false
    relay.allowedSigners = [authAddress]
    try {
      const wrongKey = generatePrivateKey()
      const { logger, lines } = capturedLogger()
      const sender = await flashbots(wrongKey, { logger })
      const { send } = await bundle(sender)
      const err = await send().catch((e) => e)
      expect(err).toBeInstanceOf(SendError)
      expect(err.kind).toBe('rejected')
      expect(err.message).toContain('flashbots relay refused the credentials')
      expect(err.message).toContain('--builder.flashbots_relay_auth_key')
      const logged = lines.join('\n')
      expect(logged).toContain('refused the credentials')
      for (const text of [err.message, logged, JSON.stringify(sender)]) {
        expect(text).not.toContain(wrongKey.slice(2))
        expect(text).not.toContain(authKey.slice(2))
      }
    } finally {
      relay.allowedSigners = []
    }
  })

  it('an unreachable or lagging relay is "unavailable", within the timeout', async () => {
    const sender = await flashbots(authKey, { timeoutMillis: 300 })
    const { send } = await bundle(sender)
    relay.server.lagMillis = 2_000
    const started = Date.now()
    try {
      const err = await send().catch((e) => e)
      expect(err).toBeInstanceOf(SendError)
      expect(err.kind).toBe('unavailable')
      expect(Date.now() - started).toBeLessThan(1_500)
    } finally {
      relay.server.lagMillis = 0
    }
    await relay.server.setHealth('http503')
    try {
      expect((await send().catch((e) => e)).kind).toBe('unavailable')
    } finally {
      await relay.server.setHealth('up')
    }
  })
})
