import { type Address, concat, type Hash, type Hex, pad, toHex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { entryPointOfVersion } from '../src/chain/entrypoint/registry.js'
import type { UserOperation } from '../src/chain/userop.js'
import { encodeUserOp } from '../src/rpc/encode.js'
import { RpcCode } from '../src/util/errors.js'
import { buildOp, newOwner, signUserOp } from './harness/account.js'
import { bundleOps } from './harness/bundle.js'
import { startTestChain, type TestChain } from './harness/chain.js'
import type { JsonRpcError } from './support/bundler-load.js'
import { deployTestContract } from './support/contracts.js'
import { type ConveyorApp, startConveyorApp } from './support/conveyor-app.js'

/**
 * What EntryPoint v0.9 does differently, through one Conveyor on anvil: a paymaster signature
 * outside the userOpHash (the paymaster signs in parallel with the user), validity ranges in block
 * numbers (compared with block numbers at admission and in the proposer's second simulation), and
 * an initCode the EntryPoint ignores for an account that already exists.
 */

const V09 = 'v0.9' as const
const ep = entryPointOfVersion(V09)
/** The top bit of a uint48: validAfter and validUntil above it are block numbers. */
const BLOCK_FLAG = 0x800000000000n

let chain: TestChain
let conveyor: ConveyorApp
let paymaster: Address
const pmSigner = newOwner()

beforeAll(async () => {
  chain = await startTestChain()
  conveyor = await startConveyorApp(chain)
  paymaster = await deployTestContract(chain, 'SignaturePaymasterV09', [ep.address, pmSigner.address], {
    deposit: 10n ** 19n,
  })
}, 60_000)

afterAll(async () => {
  await conveyor?.stop()
  await chain?.stop()
})

/** The op on the wire: v0.7's fields plus the separate paymasterSignature. */
const wire = (op: UserOperation) => ({
  ...encodeUserOp(op),
  ...(op.paymasterSignature ? { paymasterSignature: op.paymasterSignature } : {}),
})

const send = (op: UserOperation) =>
  conveyor.rpc<Hash>('eth_sendUserOperation', [wire(op), ep.address]).then(
    (h) => ({ ok: true as const, hash: h }),
    (e: JsonRpcError) => ({ ok: false as const, error: e }),
  )

/** paymasterData carrying a validity range as the test paymaster returns it (uint48 until, uint48 after). */
function rangeData(validAfter: bigint, validUntil: bigint): Hex {
  return concat([pad(toHex(validUntil), { size: 6 }), pad(toHex(validAfter), { size: 6 })])
}

/**
 * A sponsored op of a deployed account: the user and the paymaster each sign the userOpHash, which
 * leaves the paymaster's signature out, so neither waits for the other.
 */
async function sponsored(paymasterData: Hex, pmKey = pmSigner): Promise<UserOperation> {
  const owner = newOwner()
  const first = await buildOp(chain, V09, { owner })
  expect((await bundleOps(chain, V09, [first.op])).events[0]?.success).toBe(true)
  const { op } = await buildOp(chain, V09, {
    owner,
    sign: false,
    fund: false,
    overrides: {
      paymaster,
      paymasterVerificationGasLimit: 60_000n,
      paymasterPostOpGasLimit: 0n,
      paymasterData,
      paymasterSignature: `0x${'00'.repeat(65)}`,
    },
  })
  const hash = ep.hash(op, chain.chainId)
  const [signature, paymasterSignature] = await Promise.all([
    signUserOp(chain, V09, op, owner),
    pmKey.sign({ hash }),
  ])
  return { ...op, signature, paymasterSignature }
}

describe('v0.9 paymaster signature', () => {
  it('admits, bundles and reports an op whose paymaster signed in parallel; the hash is the one on chain', async () => {
    const op = await sponsored('0x')
    const sent = await send(op)
    expect(sent.ok ? 'admitted' : sent.error.message).toBe('admitted')
    if (!sent.ok) return
    const onChain = await chain.client.readContract({
      address: ep.address,
      abi: ep.abi,
      functionName: 'getUserOpHash',
      args: [ep.toAbi(op)],
    })
    expect(sent.hash).toBe(onChain)
    // The paymaster's signature is not part of the hash: another one gives the same hash.
    expect(ep.hash({ ...op, paymasterSignature: '0x1234' }, chain.chainId)).toBe(sent.hash)
    const pooled = await conveyor.rpc<{ userOperation: Record<string, Hex> }>('eth_getUserOperationByHash', [
      sent.hash,
    ])
    expect(pooled.userOperation.paymasterSignature).toBe(op.paymasterSignature)
    const txHash = await conveyor.bundleNow()
    const receipt = await conveyor.rpc<{
      success: boolean
      paymaster: Address
      receipt: { transactionHash: Hash }
    }>('eth_getUserOperationReceipt', [sent.hash])
    expect(receipt).toMatchObject({ success: true, paymaster, receipt: { transactionHash: txHash } })
    // Read back from the mined bundle's calldata, the signature is split out again.
    const decoded = ep.decodeBundle((await chain.client.getTransaction({ hash: txHash })).input)
    expect(decoded?.find((o) => o.sender === op.sender)?.paymasterSignature).toBe(op.paymasterSignature)
  })

  it('refuses a paymaster signature by the wrong key with -32507', async () => {
    const sent = await send(await sponsored('0x', newOwner()))
    expect(sent.ok).toBe(false)
    if (!sent.ok) {
      expect(sent.error.code).toBe(RpcCode.InvalidSignature)
      expect(sent.error.message).toMatch(/paymaster signature/)
    }
  })
})

describe('v0.9 block-number validity ranges', () => {
  const head = () => chain.client.getBlockNumber({ cacheTime: 0 })

  it('compares them with block numbers at admission, never with timestamps', async () => {
    const now = await head()
    // As timestamps these would lie some 4.5 million years ahead: as block numbers the op is valid now.
    const valid = await send(await sponsored(rangeData(BLOCK_FLAG | 1n, BLOCK_FLAG | (now + 100n))))
    expect(valid).toMatchObject({ ok: true })
    const early = await send(await sponsored(rangeData(BLOCK_FLAG | (now + 50n), BLOCK_FLAG | (now + 100n))))
    expect(early.ok ? undefined : early.error).toMatchObject({ code: RpcCode.ShortDeadline })
    expect(early.ok ? '' : early.error.message).toMatch(/not valid until after block/)
    const late = await send(await sponsored(rangeData(BLOCK_FLAG | 1n, BLOCK_FLAG | now)))
    expect(late.ok ? undefined : late.error).toMatchObject({ code: RpcCode.ShortDeadline })
    expect(late.ok ? '' : late.error.message).toMatch(/validUntilBlock/)
    await conveyor.rpc('debug_bundler_clearMempool')
  })

  it('the proposer drops an op whose block range closed while it waited in the pool', async () => {
    const now = await head()
    const op = await sponsored(rangeData(BLOCK_FLAG | 1n, BLOCK_FLAG | (now + 8n)))
    const sent = await send(op)
    expect(sent).toMatchObject({ ok: true })
    if (!sent.ok) return
    await chain.client.request({ method: 'anvil_mine' as never, params: [toHex(10)] as never })
    const none = await conveyor.rpc<unknown>('debug_bundler_sendBundleNow')
    expect(none).toMatchObject({ status: expect.any(String) })
    expect(await conveyor.rpc('eth_getUserOperationReceipt', [sent.hash])).toBeNull()
    expect(await conveyor.dumpMempool(ep.address)).toEqual([])
  })
})

describe('v0.9 ignores the initCode of an existing account', () => {
  it('admits and mines an op of a deployed account that still names its factory (v0.8 refuses it)', async () => {
    for (const version of ['v0.8', 'v0.9'] as const) {
      const owner = newOwner()
      const first = await buildOp(chain, version, { owner })
      expect((await bundleOps(chain, version, [first.op])).events[0]?.success).toBe(true)
      const { factory, factoryData } = first.op
      const { op } = await buildOp(chain, version, { owner, overrides: { factory, factoryData } })
      const sent = await conveyor
        .rpc<Hash>('eth_sendUserOperation', [encodeUserOp(op), chain.deployment.entryPoints[version]])
        .then(
          (h) => ({ ok: true as const, hash: h }),
          (e: JsonRpcError) => ({ ok: false as const, error: e }),
        )
      if (version === 'v0.8') {
        expect(sent.ok ? undefined : sent.error.message).toMatch(/is deployed: remove the factory/)
        continue
      }
      expect(sent).toMatchObject({ ok: true })
      if (!sent.ok) continue
      await conveyor.bundleNow()
      const receipt = await conveyor.rpc<{ success: boolean }>('eth_getUserOperationReceipt', [sent.hash])
      expect(receipt.success).toBe(true)
    }
  })
})
