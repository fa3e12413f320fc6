import { type Address, type Hash, hexToBigInt, numberToHex, type PrivateKeyAccount } from 'viem'
import { getUserOperationHash } from 'viem/account-abstraction'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { delegationCode, type Eip7702Auth } from '../src/chain/eip7702.js'
import { type EntryPointVersion, entryPointAbi } from '../src/chain/entrypoint.js'
import { packUserOp, type UserOperation } from '../src/chain/userop.js'
import { createOpLookup } from '../src/rpc/op-lookup.js'
import { buildOp, newOwner } from './harness/account.js'
import { startTestChain, type TestChain } from './harness/chain.js'
import { build7702Op, implementation, signAuth, wire7702 } from './harness/eip7702.js'
import { JsonRpcError } from './support/bundler-load.js'
import { type ConveyorApp, startConveyorApp } from './support/conveyor-app.js'
import { waitFor } from './support/wait.js'

/** secp256k1's group order: s' = n − s (with the other yParity) is the same signature, high. */
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n

let chain: TestChain
let app: ConveyorApp

beforeAll(async () => {
  chain = await startTestChain()
  app = await startConveyorApp(chain)
}, 60_000)
afterAll(async () => {
  await app?.stop()
  await chain?.stop()
})

const ep = (version: EntryPointVersion): Address => chain.deployment.entryPoints[version]
const send = (version: EntryPointVersion, op: UserOperation) =>
  app.rpc<Hash>('eth_sendUserOperation', [wire7702(chain, version, op), ep(version)])

async function receipt(hash: Hash) {
  return app.rpc<{ success: boolean; receipt: { transactionHash: Hash } } | null>(
    'eth_getUserOperationReceipt',
    [hash],
  )
}

async function refusal(p: Promise<unknown>): Promise<JsonRpcError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(JsonRpcError)
  return err as JsonRpcError
}

/** The EOA sends a plain transaction of its own (using its account nonce). */
async function ownTransaction(owner: PrivateKeyAccount): Promise<void> {
  const { createWalletClient, http } = await import('viem')
  const wallet = createWalletClient({ account: owner, transport: http(chain.url) })
  const hash = await wallet.sendTransaction({ chain: null, to: owner.address, value: 0n })
  await chain.client.waitForTransactionReceipt({ hash })
}

describe('EIP-7702 ops bundled as type-4 transactions (anvil, real EntryPoints)', () => {
  it.each(['v0.8', 'v0.9'] as const)(
    '%s: first op of a fresh EOA with its authorization → type-4 bundle, delegated, op succeeded; a second op without one lands',
    async (version) => {
      const owner = newOwner()
      const impl = implementation(chain, version)
      const auth = await signAuth(chain, owner, impl)
      const { op, hash } = await build7702Op(chain, version, { owner, auth })

      // The hash is viem's (the delegate in place of the marker), the one the SDK signs.
      const viemHash = getUserOperationHash({
        userOperation: {
          ...op,
          factory: '0x7702',
          authorization: { ...auth, chainId: Number(auth.chainId), nonce: Number(auth.nonce) },
        } as never,
        entryPointAddress: ep(version),
        entryPointVersion: version === 'v0.8' ? '0.8' : '0.9',
        chainId: chain.chainId,
      })
      expect(viemHash).toBe(hash)
      expect(await send(version, op)).toBe(hash)

      const byHash = await app.rpc<{ userOperation: Record<string, unknown> }>('eth_getUserOperationByHash', [
        hash,
      ])
      expect(byHash.userOperation.factory).toBe('0x7702000000000000000000000000000000000000')
      expect(byHash.userOperation.eip7702Auth).toMatchObject({
        address: impl,
        chainId: numberToHex(chain.chainId),
        nonce: '0x0',
        r: auth.r,
        s: auth.s,
      })

      const txHash = await app.bundleNow()
      const tx = await chain.client.getTransaction({ hash: txHash })
      expect(tx.type).toBe('eip7702')
      expect(tx.authorizationList).toHaveLength(1)
      expect(tx.authorizationList?.[0]?.address.toLowerCase()).toBe(impl.toLowerCase())
      expect((await chain.client.getCode({ address: owner.address }))?.toLowerCase()).toBe(
        delegationCode(impl),
      )
      expect((await receipt(hash))?.success).toBe(true)
      // The EntryPoint itself, now that the delegation is on chain, hashes it the same way.
      const onChain = await chain.client.readContract({
        address: ep(version),
        abi: entryPointAbi(version),
        functionName: 'getUserOpHash',
        args: [packUserOp(op)],
      })
      expect(onChain).toBe(hash)
      // Found on chain alone (the pool forgotten), the op comes back with its authorization.
      const found = await createOpLookup({
        client: chain.client,
        entryPoints: [ep(version)],
      }).getUserOperation(hash)
      expect(found?.userOperation.factory?.toLowerCase()).toBe('0x7702000000000000000000000000000000000000')
      expect(found?.userOperation.eip7702Auth).toEqual(auth)

      // Delegated now: no authorization needed (v0.9 also names the marker, hashed with the chain's delegate).
      const second = await build7702Op(chain, version, { owner, marker: version === 'v0.9' })
      expect(second.op.eip7702Auth).toBeUndefined()
      expect(await send(version, second.op)).toBe(second.hash)
      const tx2 = await chain.client.getTransaction({ hash: await app.bundleNow() })
      expect(tx2.type).toBe('eip1559')
      expect((await receipt(second.hash))?.success).toBe(true)
    },
    60_000,
  )

  it('refuses bad authorizations with -32602 naming the field', async () => {
    const version = 'v0.8'
    const impl = implementation(chain, version)
    const owner = newOwner()
    const attempt = async (auth: Eip7702Auth, who = owner) => {
      const { op } = await build7702Op(chain, version, { owner: who, auth })
      return refusal(send(version, op))
    }

    const other = newOwner()
    const wrongSigner = await attempt(await signAuth(chain, other, impl, { nonce: 0 }))
    expect(wrongSigner.code).toBe(-32602)
    expect(wrongSigner.message).toMatch(/eip7702Auth: signed by 0x[0-9a-fA-F]{40}, not by the sender/)

    const wrongChain = await attempt(await signAuth(chain, owner, impl, { chainId: chain.chainId + 1 }))
    expect(wrongChain.code).toBe(-32602)
    expect(wrongChain.message).toContain('eip7702Auth.chainId: must be 0 or this chain')

    const good = await signAuth(chain, owner, impl)
    const highS = await attempt({
      ...good,
      s: numberToHex(N - hexToBigInt(good.s), { size: 32 }),
      yParity: 1 - good.yParity,
    })
    expect(highS.code).toBe(-32602)
    expect(highS.message).toContain('eip7702Auth.s: must be in the lower half')

    const noCode = await attempt(
      await signAuth(chain, owner, privateKeyToAccount(`0x${'11'.repeat(32)}`).address),
    )
    expect(noCode.code).toBe(-32602)
    expect(noCode.message).toContain('eip7702Auth.address')

    // The EOA moves its nonce: an authorization at the old nonce is stale.
    const stale = await signAuth(chain, owner, impl)
    await ownTransaction(owner)
    const staleNonce = await attempt(stale)
    expect(staleNonce.code).toBe(-32602)
    expect(staleNonce.message).toContain('eip7702Auth.nonce: 0 is not the sender')

    // Shape errors name the field too; and EntryPoints before v0.8 take no authorization.
    const { op } = await build7702Op(chain, version, { owner, auth: await signAuth(chain, owner, impl) })
    const wire = wire7702(chain, version, op)
    const badParity = await refusal(
      app.rpc('eth_sendUserOperation', [
        { ...wire, eip7702Auth: { ...(wire.eip7702Auth as object), yParity: '0x2' } },
        ep(version),
      ]),
    )
    expect(badParity.message).toContain('params[0].eip7702Auth.yParity: must be 0 or 1')
    const v07 = await buildOp(chain, 'v0.7', { owner: newOwner() })
    const onV07 = await refusal(
      app.rpc('eth_sendUserOperation', [
        { ...wire7702(chain, 'v0.7', v07.op), eip7702Auth: wire.eip7702Auth },
        ep('v0.7'),
      ]),
    )
    expect(onV07.message).toContain('served on EntryPoint v0.8 and v0.9, not v0.7')
    // Without its authorization, an undelegated EOA's marker op is refused naming eip7702Auth.
    const missing = await refusal(
      app.rpc('eth_sendUserOperation', [{ ...wire, eip7702Auth: undefined }, ep(version)]),
    )
    expect(missing.message).toContain('eip7702Auth: missing')
  }, 60_000)

  it('one op with an authorization per sender in the pool', async () => {
    const version = 'v0.8'
    const owner = newOwner()
    const auth = await signAuth(chain, owner, implementation(chain, version))
    const first = await build7702Op(chain, version, { owner, auth })
    await send(version, first.op)
    // Another nonce key of the same EOA, again with an authorization.
    const second = await build7702Op(chain, version, { owner, auth, nonce: 1n << 64n })
    const refused = await refusal(send(version, second.op))
    expect(refused.message).toContain('already has an op with an authorization in the mempool')
    await app.bundleNow()
    expect((await receipt(first.hash))?.success).toBe(true)
  }, 60_000)

  it("the EOA's own transaction consumes the nonce while the op waits → the op is dropped with its reason, no bundle reverts", async () => {
    const version = 'v0.9'
    const owner = newOwner()
    const auth = await signAuth(chain, owner, implementation(chain, version))
    const { op, hash } = await build7702Op(chain, version, { owner, auth })
    await send(version, op)
    const blockBefore = await chain.client.getBlockNumber()
    await ownTransaction(owner)
    await waitFor(async () => {
      await app.app.pool.settled()
      return app.app.pool.droppedReason(hash) !== undefined
    }, 'the pool to drop the op')
    expect(app.app.pool.droppedReason(hash)).toContain('eip7702Auth: nonce 0 of')
    expect(await app.rpc('eth_getUserOperationByHash', [hash])).toBeNull()
    const r = await app.rpc<Hash | { status: string; reason: string }>('debug_bundler_sendBundleNow')
    expect(typeof r).toBe('object')
    // Nothing our signers sent since then reverted.
    const head = await chain.client.getBlockNumber()
    for (let n = blockBefore + 1n; n <= head; n++) {
      const block = await chain.client.getBlock({ blockNumber: n, includeTransactions: true })
      for (const t of block.transactions) {
        const rc = await chain.client.getTransactionReceipt({ hash: t.hash })
        expect(rc.status).toBe('success')
      }
    }
  }, 60_000)

  it('a 7702 op and a plain SimpleAccount op in one type-4 bundle', async () => {
    const version = 'v0.8'
    const owner = newOwner()
    const auth = await signAuth(chain, owner, implementation(chain, version))
    const a = await build7702Op(chain, version, { owner, auth })
    const b = await buildOp(chain, version, { owner: newOwner() })
    await send(version, a.op)
    await send(version, b.op)
    const tx = await chain.client.getTransaction({ hash: await app.bundleNow() })
    expect(tx.type).toBe('eip7702')
    const ra = await receipt(a.hash)
    const rb = await receipt(b.hash)
    expect(ra?.success).toBe(true)
    expect(rb?.success).toBe(true)
    expect(ra?.receipt.transactionHash).toBe(rb?.receipt.transactionHash)
    // The bundle's gas limit carries the authorization's 25,000 intrinsic gas.
    const gasUsed = (await chain.client.getTransactionReceipt({ hash: tx.hash })).gasUsed
    expect(tx.gas).toBeGreaterThan(gasUsed)
  }, 60_000)

  it('refuses to start when a bundle signer is EIP-7702 delegated, naming the signer and the delegate', async () => {
    const key = generatePrivateKey()
    const signer = privateKeyToAccount(key).address
    const impl = implementation(chain, 'v0.9')
    await chain.client.request({
      method: 'anvil_setCode' as never,
      params: [signer, delegationCode(impl)] as never,
    })
    const err = await startConveyorApp(chain, [], { signerKey: key }).then(
      async (started) => {
        await started.stop()
        return undefined
      },
      (e: unknown) => e as Error,
    )
    expect(err?.message).toContain(`signer ${signer} is EIP-7702 delegated to ${impl}`)
    expect(err?.message).toContain('bundle signers must be plain EOAs')
  }, 60_000)
})
