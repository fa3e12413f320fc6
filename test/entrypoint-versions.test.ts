import { type Address, concat, type Hash, type Hex, type PrivateKeyAccount, pad, toHex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { entryPointOfVersion } from '../src/chain/entrypoint/registry.js'
import { ENTRY_POINT_VERSIONS, type EntryPointVersion } from '../src/chain/entrypoint.js'
import type { UserOperation } from '../src/chain/userop.js'
import { encodeUserOp } from '../src/rpc/encode.js'
import { depositSlot } from '../src/sim/estimation-overrides.js'
import { RpcCode } from '../src/util/errors.js'
import { buildOp, newOwner, signUserOp } from './harness/account.js'
import { bundleOps } from './harness/bundle.js'
import { startTestChain, type TestChain } from './harness/chain.js'
import { deployVerifyingPaymaster, withVerifyingPaymaster } from './harness/paymaster.js'
import { JsonRpcError, jsonRpc } from './support/bundler-load.js'
import { type ConveyorApp, startConveyorApp } from './support/conveyor-app.js'
import { waitFor } from './support/wait.js'

/**
 * One Conveyor (pool, safe-mode simulation with the ERC-7562 tracer, RPC, one bundle sender in
 * manual mode) serving all four EntryPoints on a real anvil, driven over its JSON-RPC with ops in
 * each version's wire shape: admission, replacement, estimation, a bundle of many senders,
 * receipts, an op the second simulation removes, and bundles of one EntryPoint each, in turn.
 */

let chain: TestChain
let conveyor: ConveyorApp
let rpcUrl: string

beforeAll(async () => {
  chain = await startTestChain()
  conveyor = await startConveyorApp(chain)
  rpcUrl = conveyor.rpcUrl
}, 60_000)

afterAll(async () => {
  await conveyor?.stop()
  await chain?.stop()
})

/** The op as a client of `version` sends it: v0.6 packs initCode and paymasterAndData. */
function wire(version: EntryPointVersion, op: UserOperation): Record<string, Hex> {
  if (version === 'v0.6') {
    return {
      sender: op.sender,
      nonce: toHex(op.nonce),
      initCode: op.factory ? (concat([op.factory, op.factoryData ?? '0x']).toLowerCase() as Hex) : '0x',
      callData: op.callData,
      callGasLimit: toHex(op.callGasLimit),
      verificationGasLimit: toHex(op.verificationGasLimit),
      preVerificationGas: toHex(op.preVerificationGas),
      maxFeePerGas: toHex(op.maxFeePerGas),
      maxPriorityFeePerGas: toHex(op.maxPriorityFeePerGas),
      paymasterAndData: op.paymaster
        ? (concat([op.paymaster, op.paymasterData ?? '0x']).toLowerCase() as Hex)
        : '0x',
      signature: op.signature,
    }
  }
  return encodeUserOp(op) as unknown as Record<string, Hex>
}

const ep = (version: EntryPointVersion): Address => chain.deployment.entryPoints[version]

function send(version: EntryPointVersion, op: UserOperation): Promise<Hash> {
  return jsonRpc<Hash>(rpcUrl, 'eth_sendUserOperation', [wire(version, op), ep(version)])
}

async function rejection(p: Promise<unknown>): Promise<JsonRpcError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(JsonRpcError)
  return err as JsonRpcError
}

async function onChainHash(version: EntryPointVersion, op: UserOperation): Promise<Hash> {
  const module = entryPointOfVersion(version)
  return (await chain.client.readContract({
    address: module.address,
    abi: module.abi,
    functionName: 'getUserOpHash',
    args: [module.toAbi(op)],
  })) as Hash
}

const bundleNow = () => conveyor.bundleNow()
const mempool = (version: EntryPointVersion) => conveyor.dumpMempool(ep(version))

async function deployedOwner(version: EntryPointVersion): Promise<PrivateKeyAccount> {
  const owner = newOwner()
  const first = await buildOp(chain, version, { owner })
  expect((await bundleOps(chain, version, [first.op])).events[0]?.success).toBe(true)
  return owner
}

describe.each(ENTRY_POINT_VERSIONS)('EntryPoint %s through one Conveyor', (version) => {
  it('admits an op in its wire shape under the hash the EntryPoint computes, and dumps it in that shape', async () => {
    const { op } = await buildOp(chain, version, { owner: newOwner() })
    const hash = await send(version, op)
    expect(hash).toBe(await onChainHash(version, op))
    const dumped = (await mempool(version)).find((o) => o.sender === op.sender)
    expect(dumped).toEqual(wire(version, op))
    const byHash = await jsonRpc<{ userOperation: Record<string, Hex>; entryPoint: Address }>(
      rpcUrl,
      'eth_getUserOperationByHash',
      [hash],
    )
    expect(byHash.userOperation).toEqual(wire(version, op))
    expect(byHash.entryPoint).toBe(ep(version))
    await jsonRpc(rpcUrl, 'debug_bundler_clearMempool')
  })

  it("refuses an op in another version's shape with -32602 naming the field", async () => {
    const { op } = await buildOp(chain, version, { owner: newOwner() })
    const foreign = version === 'v0.6' ? wire('v0.7', op) : wire('v0.6', op)
    const err = await rejection(jsonRpc(rpcUrl, 'eth_sendUserOperation', [foreign, ep(version)]))
    expect(err.code).toBe(RpcCode.InvalidParams)
    expect(err.message).toMatch(version === 'v0.6' ? /params\[0\]\.factory: / : /params\[0\]\.initCode: /)
    if (version !== 'v0.9') {
      const pmSig = { ...wire(version, op), paymasterSignature: '0x1234' }
      const e = await rejection(jsonRpc(rpcUrl, 'eth_sendUserOperation', [pmSig, ep(version)]))
      expect(e.message).toMatch(/params\[0\]\.paymasterSignature: /)
    }
  })

  it('replaces an op only for both fees raised by 10%', async () => {
    const owner = await deployedOwner(version)
    const { op } = await buildOp(chain, version, { owner })
    await send(version, op)
    const bump = (pct: bigint) => ({
      maxFeePerGas: (op.maxFeePerGas * (100n + pct)) / 100n + 1n,
      maxPriorityFeePerGas: (op.maxPriorityFeePerGas * (100n + pct)) / 100n + 1n,
    })
    const low = (await buildOp(chain, version, { owner, nonce: op.nonce, overrides: bump(5n) })).op
    expect((await rejection(send(version, low))).code).toBe(RpcCode.InvalidParams)
    const high = (await buildOp(chain, version, { owner, nonce: op.nonce, overrides: bump(10n) })).op
    const hash = await send(version, high)
    const pooled = (await mempool(version)).filter((o) => o.sender === op.sender)
    expect(pooled).toEqual([wire(version, high)])
    expect(hash).toBe(await onChainHash(version, high))
    await jsonRpc(rpcUrl, 'debug_bundler_clearMempool')
  })

  it('estimates, bundles ops of many senders (one sponsored) in one transaction, and serves their receipts', async () => {
    const pmSigner = newOwner()
    const paymaster = await deployVerifyingPaymaster(chain, version, pmSigner.address)
    // The sponsored one (last) is deployed: v0.6's VerifyingPaymaster writes a per-sender nonce,
    // which ERC-7562 forbids while an unstaked factory deploys the sender (STO-022).
    const owners = [
      newOwner(),
      newOwner(),
      await deployedOwner(version),
      await deployedOwner(version),
      await deployedOwner(version),
    ]
    const ops: UserOperation[] = []
    for (const [i, owner] of owners.entries()) {
      const { op: draft } = await buildOp(chain, version, { owner, sign: false })
      const sponsored = i === owners.length - 1
      const base = sponsored ? await withVerifyingPaymaster(chain, draft, paymaster, pmSigner) : draft
      const {
        callGasLimit: _c,
        verificationGasLimit: _v,
        preVerificationGas: _p,
        ...rest
      } = wire(version, base)
      const est = await jsonRpc<Record<string, Hex>>(rpcUrl, 'eth_estimateUserOperationGas', [
        rest,
        ep(version),
      ])
      let op: UserOperation = {
        ...base,
        callGasLimit: BigInt(est.callGasLimit!),
        verificationGasLimit: BigInt(est.verificationGasLimit!),
        preVerificationGas: BigInt(est.preVerificationGas!),
        ...(est.paymasterVerificationGasLimit
          ? { paymasterVerificationGasLimit: BigInt(est.paymasterVerificationGasLimit) }
          : {}),
      }
      // The paymaster signs over the final gas limits, then the account over everything.
      if (sponsored) op = await withVerifyingPaymaster(chain, op, paymaster, pmSigner)
      op = { ...op, signature: await signUserOp(chain, version, op, owner) }
      ops.push(op)
    }
    const hashes = []
    for (const op of ops) hashes.push(await send(version, op))
    const txHash = await bundleNow()
    const receipts = await Promise.all(
      hashes.map((h) =>
        jsonRpc<{
          success: boolean
          receipt: { transactionHash: Hash }
          entryPoint: Address
          paymaster: Address
        }>(rpcUrl, 'eth_getUserOperationReceipt', [h]),
      ),
    )
    for (const r of receipts) {
      expect(r.success).toBe(true)
      expect(r.receipt.transactionHash).toBe(txHash)
      expect(r.entryPoint).toBe(ep(version))
    }
    expect(receipts.at(-1)?.paymaster).toBe(paymaster)
    const tx = await chain.client.getTransaction({ hash: txHash })
    expect(tx.to).toBe(ep(version).toLowerCase())
    const byHash = await jsonRpc<{ userOperation: Record<string, Hex>; transactionHash: Hash }>(
      rpcUrl,
      'eth_getUserOperationByHash',
      [hashes[0]],
    )
    expect(byHash).toMatchObject({ userOperation: wire(version, ops[0]!), transactionHash: txHash })
    expect(await mempool(version)).toEqual([])
  })

  it('removes an op the second simulation rejects, and bundles the rest', async () => {
    const good = (await buildOp(chain, version, { owner: await deployedOwner(version) })).op
    const doomed = (await buildOp(chain, version, { owner: await deployedOwner(version) })).op
    const goodHash = await send(version, good)
    const doomedHash = await send(version, doomed)
    // After admission the sender can no longer pay its prefund (AA21 at the second simulation):
    // no balance, and its deposit at the EntryPoint (what its first op left there) gone.
    await chain.client.request({
      method: 'anvil_setBalance' as never,
      params: [doomed.sender, '0x0'] as never,
    })
    await chain.client.request({
      method: 'anvil_setStorageAt' as never,
      params: [ep(version), depositSlot(doomed.sender), pad('0x0', { size: 32 })] as never,
    })
    const deposit = await chain.client.readContract({
      address: ep(version),
      abi: entryPointOfVersion(version).abi,
      functionName: 'balanceOf',
      args: [doomed.sender],
    })
    expect(deposit).toBe(0n)
    const txHash = await bundleNow()
    const r = await jsonRpc<{ receipt: { transactionHash: Hash } }>(rpcUrl, 'eth_getUserOperationReceipt', [
      goodHash,
    ])
    expect(r.receipt.transactionHash).toBe(txHash)
    expect(await jsonRpc(rpcUrl, 'eth_getUserOperationReceipt', [doomedHash])).toBeNull()
    expect(await jsonRpc(rpcUrl, 'eth_getUserOperationByHash', [doomedHash])).toBeNull()
    expect(await mempool(version)).toEqual([])
  })
})

describe('several EntryPoints, one sender', () => {
  it('puts the ops of one EntryPoint in each bundle and serves every EntryPoint in turn', async () => {
    const sent = new Map<EntryPointVersion, Hash[]>()
    for (const version of ENTRY_POINT_VERSIONS) {
      const hashes: Hash[] = []
      for (let i = 0; i < 2; i++)
        hashes.push(await send(version, (await buildOp(chain, version, { owner: newOwner() })).op))
      sent.set(version, hashes)
    }
    const txs: Hash[] = []
    for (let i = 0; i < ENTRY_POINT_VERSIONS.length; i++) txs.push(await bundleNow())
    const targets = await Promise.all(
      txs.map(async (h) => (await chain.client.getTransaction({ hash: h })).to),
    )
    // Four bundles, four EntryPoints: none waits while another is bundled twice.
    expect(new Set(targets).size).toBe(ENTRY_POINT_VERSIONS.length)
    for (const version of ENTRY_POINT_VERSIONS) {
      const tx = txs[targets.indexOf(ep(version).toLowerCase() as Address)]
      for (const h of sent.get(version)!) {
        const r = await jsonRpc<{ receipt: { transactionHash: Hash } }>(
          rpcUrl,
          'eth_getUserOperationReceipt',
          [h],
        )
        expect(r.receipt.transactionHash).toBe(tx)
      }
    }
    await waitFor(
      async () => (await Promise.all(ENTRY_POINT_VERSIONS.map(mempool))).every((m) => m.length === 0),
      'empty mempools',
    )
  })
})
