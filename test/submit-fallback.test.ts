import { generatePrivateKey } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTransactionSender, FallbackTransactionSender, SendError } from '../src/builder/submit/index.js'
import { chainSpecFor } from '../src/chain/chain-spec.js'
import { buildOp, newOwner } from './harness/account.js'
import { startTestChain, type TestChain } from './harness/chain.js'
import { type BloxrouteRelay, startBloxrouteRelay } from './support/relay-bloxroute.js'
import {
  capturedLogger,
  fundedSigner,
  mineAndGetReceipt,
  opOutcomes,
  signBundle,
} from './support/relay-bundle.js'
import { type FlashbotsRelay, startFlashbotsRelay } from './support/relay-flashbots.js'
import { waitFor } from './support/wait.js'

let chain: TestChain
let flashbots: FlashbotsRelay
let bloxroute: BloxrouteRelay
const RECOVERY_MS = 800
const AUTH = 'YWNjb3VudC1pZDpibG94cm91dGUtc2VjcmV0LWZvci10ZXN0cw=='

beforeAll(async () => {
  chain = await startTestChain({ noMining: true })
  flashbots = await startFlashbotsRelay(chain.url)
  bloxroute = await startBloxrouteRelay(chain.url, AUTH)
})
afterAll(async () => {
  await flashbots?.close()
  await bloxroute?.close()
  await chain?.stop()
})

describe('fallback from a private relay to raw through the node', () => {
  it('Flashbots down → bundles keep landing through the node; back up → the relay is used again', async () => {
    const { logger, lines } = capturedLogger()
    const sender = await createTransactionSender({
      kind: 'flashbots',
      useConditionalRpc: false,
      submitUrl: flashbots.url,
      nodeUrl: chain.url,
      chainId: chain.chainId,
      chainSpec: chainSpecFor(chain.chainId),
      flashbotsRelayAuthKey: generatePrivateKey(),
      fallback: { maxConsecutiveUnavailable: 2, recoveryMillis: RECOVERY_MS },
      timeoutMillis: 2_000,
      allowAnyChain: true,
      logger,
    })
    expect(sender).toBeInstanceOf(FallbackTransactionSender)
    const fb = sender as FallbackTransactionSender
    const signer = await fundedSigner(chain)
    const land = async () => {
      const { op, hash: opHash } = await buildOp(chain, 'v0.7', { owner: newOwner() })
      const b = await signBundle(chain, 'v0.7', [op], signer)
      return {
        b,
        opHash,
        mined: async () => opOutcomes(chain, 'v0.7', (await mineAndGetReceipt(chain, b.hash))!).get(opHash),
      }
    }
    const relayed = () => flashbots.calls.filter((c) => c.method === 'eth_sendPrivateTransaction').length

    // Up: through the relay.
    const one = await land()
    await sender.send(one.b.raw)
    expect(relayed()).toBe(1)
    expect(await one.mined()).toBe(true)

    // Down: the first failure is the state machine's to retry; the K-th goes out through the node.
    await flashbots.server.setHealth('down')
    const two = await land()
    const first = await sender.send(two.b.raw).catch((e) => e)
    expect(first).toBeInstanceOf(SendError)
    expect(first.kind).toBe('unavailable')
    expect(fb.path).toBe('private')
    expect(await sender.send(two.b.raw)).toBe(two.b.hash)
    expect(fb.path).toBe('fallback')
    expect(await two.mined()).toBe(true)
    expect(lines.join('\n')).toContain('falling back to raw submission through the node')

    // Still in the recovery interval: straight to the node, the relay is not asked.
    const three = await land()
    await sender.send(three.b.raw)
    expect(await three.mined()).toBe(true)
    expect(relayed()).toBe(1)

    // Back up; after the recovery interval the relay is used again.
    await flashbots.server.setHealth('up')
    await waitFor(() => fb.path === 'private', 'recovery interval', { timeoutMs: 10_000 })
    const four = await land()
    await sender.send(four.b.raw)
    expect(relayed()).toBe(2)
    expect(await four.mined()).toBe(true)
    expect(await sender.status?.(four.b.hash)).toBe('included')
  })

  it('bloXroute answering 503 → the node; a relay that is still down at the trial send trips again at once', async () => {
    const sender = (await createTransactionSender({
      kind: 'polygon_bloxroute',
      useConditionalRpc: false,
      submitUrl: bloxroute.url,
      nodeUrl: chain.url,
      chainId: chain.chainId,
      chainSpec: chainSpecFor(chain.chainId),
      bloxrouteAuthHeader: AUTH,
      fallback: { maxConsecutiveUnavailable: 1, recoveryMillis: RECOVERY_MS },
      allowAnyChain: true,
    })) as FallbackTransactionSender
    const signer = await fundedSigner(chain)
    const send = async () => {
      const { op, hash: opHash } = await buildOp(chain, 'v0.7', { owner: newOwner() })
      const b = await signBundle(chain, 'v0.7', [op], signer)
      expect(await sender.send(b.raw)).toBe(b.hash)
      const receipt = await mineAndGetReceipt(chain, b.hash)
      expect(opOutcomes(chain, 'v0.7', receipt!).get(opHash)).toBe(true)
    }
    await bloxroute.server.setHealth('http503')
    try {
      const failedBefore = bloxroute.server.failed
      await send()
      expect(bloxroute.server.failed).toBe(failedBefore + 1)
      expect(sender.path).toBe('fallback')
      await waitFor(() => sender.path === 'private', 'recovery interval', { timeoutMs: 10_000 })
      // The trial send fails, goes out through the node, and the circuit opens again.
      await send()
      expect(bloxroute.server.failed).toBe(failedBefore + 2)
      expect(sender.path).toBe('fallback')
    } finally {
      await bloxroute.server.setHealth('up')
    }
    await waitFor(() => sender.path === 'private', 'recovery interval', { timeoutMs: 10_000 })
    const acceptedBefore = bloxroute.accepted.length
    await send()
    expect(bloxroute.accepted.length).toBe(acceptedBefore + 1)
  })
})
