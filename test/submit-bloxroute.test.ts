import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTransactionSender, SendError } from '../src/builder/submit/index.js'
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

let chain: TestChain
let relay: BloxrouteRelay
const AUTH = 'MzFhNGUxY2QtYjQ0Zi00ZDk1LWE0ZDctZTIxNjg1Y2E0YjhkOnNlY3JldC1ibG94cm91dGUta2V5'

beforeAll(async () => {
  chain = await startTestChain({ noMining: true })
  relay = await startBloxrouteRelay(chain.url, AUTH)
})
afterAll(async () => {
  await relay?.close()
  await chain?.stop()
})

function bloxroute(authHeader = AUTH, logger?: ReturnType<typeof capturedLogger>['logger']) {
  return createTransactionSender({
    kind: 'polygon_bloxroute',
    useConditionalRpc: false,
    submitUrl: relay.url,
    nodeUrl: chain.url,
    chainId: chain.chainId,
    chainSpec: chainSpecFor(chain.chainId),
    bloxrouteAuthHeader: authHeader,
    fallback: { maxConsecutiveUnavailable: 3, recoveryMillis: 60_000 },
    allowAnyChain: true,
    logger,
  })
}

async function bundle() {
  const signer = await fundedSigner(chain)
  const { op, hash: opHash } = await buildOp(chain, 'v0.7', { owner: newOwner() })
  return { signer, opHash, b: await signBundle(chain, 'v0.7', [op], signer) }
}

describe('bloXroute sender against a local relay', () => {
  it('polygon_private_tx with the Authorization header; the bundle is mined', async () => {
    const sender = await bloxroute()
    const { b, opHash } = await bundle()
    expect(await sender.send(b.raw)).toBe(b.hash)
    // The wire format: the raw transaction without 0x.
    expect(relay.accepted.at(-1)).toBe(b.raw.slice(2))
    const receipt = await mineAndGetReceipt(chain, b.hash)
    expect(receipt?.status).toBe('success')
    expect(opOutcomes(chain, 'v0.7', receipt!).get(opHash)).toBe(true)
  })

  it('cancels hard through the public node: the empty transaction is mined at the nonce, the bundle is not', async () => {
    const sender = await bloxroute()
    const { b, signer } = await bundle()
    await sender.send(b.raw)
    const handledBefore = relay.server.handled
    const fees = {
      maxFeePerGas: b.fees.maxFeePerGas * 2n,
      maxPriorityFeePerGas: b.fees.maxPriorityFeePerGas * 2n,
    }
    const result = await sender.cancel({ nonce: b.nonce, fees, hash: b.hash }, signer)
    expect(result.kind).toBe('hard')
    if (result.kind !== 'hard') return
    // Not through the relay: bloXroute has no cancel call.
    expect(relay.server.handled).toBe(handledBefore)
    const receipt = await mineAndGetReceipt(chain, result.hash)
    expect(receipt?.status).toBe('success')
    expect(receipt?.to?.toLowerCase()).toBe(signer.address.toLowerCase())
    expect(receipt?.gasUsed).toBe(21_000n)
    expect(await chain.client.getTransactionReceipt({ hash: b.hash }).catch(() => undefined)).toBeUndefined()
    expect(await chain.client.getTransactionCount({ address: signer.address })).toBe(Number(b.nonce) + 1)
  })

  it('a wrong Authorization header fails the first submission clearly, never echoing the header', async () => {
    const wrong = 'd3JvbmctYWNjb3VudDp3cm9uZy1zZWNyZXQtdmFsdWUtMTIzNDU2'
    const { logger, lines } = capturedLogger()
    const sender = await bloxroute(wrong, logger)
    const { b } = await bundle()
    const refusedBefore = relay.unauthorized
    const err = await sender.send(b.raw).catch((e) => e)
    expect(err).toBeInstanceOf(SendError)
    expect(err.kind).toBe('rejected')
    expect(err.message).toContain('bloxroute relay refused the credentials')
    expect(err.message).toContain('--builder.bloxroute_auth_header')
    expect(relay.unauthorized).toBe(refusedBefore + 1)
    const logged = lines.join('\n')
    expect(logged).toContain('refused the credentials')
    for (const text of [err.message, logged, JSON.stringify(sender)]) {
      expect(text).not.toContain(wrong)
      expect(text).not.toContain(AUTH)
    }
    // A credential problem is not an outage: no fallback to the public node.
    expect(await chain.client.getTransaction({ hash: b.hash }).catch(() => undefined)).toBeUndefined()
  })
})
