import { pino } from 'pino'
import { Registry } from 'prom-client'
import {
  type Address,
  encodeFunctionData,
  type Hash,
  type Hex,
  http,
  numberToHex,
  parseAbi,
  parseEventLogs,
  type RpcLog,
  zeroAddress,
} from 'viem'
import { createBundlerClient } from 'viem/account-abstraction'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ENTRY_POINT_VERSIONS, type EntryPointVersion } from '../src/chain/entrypoint.js'
import { bundleGasLimit } from '../src/chain/gas.js'
import { decodeRevert, describeRevert } from '../src/chain/revert.js'
import type { UserOperation } from '../src/chain/userop.js'
import type { Pool, PoolDebug, PoolQuery } from '../src/pool/types.js'
import { createOpLookup, type OpLookup } from '../src/rpc/op-lookup.js'
import { type RpcServer, startRpcServer } from '../src/rpc/server.js'
import { buildOp, currentFees, executeCallData, newOwner, simpleAccountAddress } from './harness/account.js'
import { type BundleResult, bundleOps, handleOpsCallData } from './harness/bundle.js'
import { startTestChain, type TestChain } from './harness/chain.js'

/**
 * Op lookup against a real anvil: ops mined by a real handleOps transaction are found by hash,
 * decoded from the bundle's calldata, and their receipts carry only their own execution logs.
 */

const DEPOSIT_ABI = parseAbi([
  'function depositTo(address account) payable',
  'event Deposited(address indexed account, uint256 totalDeposit)',
])

interface Mined {
  version: EntryPointVersion
  bundle: BundleResult
  /** Deposits to itself during execution. */
  a: { op: UserOperation; hash: Hash }
  /** Deposits to a fresh address during execution. */
  b: { op: UserOperation; hash: Hash; beneficiary: Address }
  /** Calls its own execute from itself: reverts with "account: not Owner or EntryPoint". */
  c: { op: UserOperation; hash: Hash }
}

let chain: TestChain
let lookup: OpLookup
const mined: Mined[] = []

async function mineThree(version: EntryPointVersion): Promise<Mined> {
  const ep = chain.deployment.entryPoints[version]
  const depositCall = (account: Address) =>
    executeCallData(
      version,
      ep,
      1000n,
      encodeFunctionData({ abi: DEPOSIT_ABI, functionName: 'depositTo', args: [account] }),
    )

  const ownerA = newOwner()
  const senderA = await simpleAccountAddress(chain, version, ownerA.address)
  const a = await buildOp(chain, version, { owner: ownerA, callData: depositCall(senderA) })

  const beneficiary = newOwner().address
  const b = await buildOp(chain, version, { owner: newOwner(), callData: depositCall(beneficiary) })

  const ownerC = newOwner()
  const senderC = await simpleAccountAddress(chain, version, ownerC.address)
  const inner = executeCallData(version, ownerC.address, 0n, '0x')
  const c = await buildOp(chain, version, {
    owner: ownerC,
    callData: executeCallData(version, senderC, 0n, inner),
  })

  const bundle = await bundleOps(chain, version, [a.op, b.op, c.op])
  expect(bundle.receipt.status).toBe('success')
  expect(bundle.events.map((e) => e.success)).toEqual([true, true, false])
  return { version, bundle, a, b: { ...b, beneficiary }, c }
}

beforeAll(async () => {
  chain = await startTestChain()
  lookup = createOpLookup({
    client: chain.client,
    entryPoints: ENTRY_POINT_VERSIONS.map((v) => chain.deployment.entryPoints[v]),
  })
  for (const v of ENTRY_POINT_VERSIONS) mined.push(await mineThree(v))
}, 120_000)

afterAll(async () => {
  await chain?.stop()
})

function depositsIn(logs: RpcLog[]) {
  return parseEventLogs({ abi: DEPOSIT_ABI, eventName: 'Deposited', logs: logs as never })
}

describe.each(ENTRY_POINT_VERSIONS)('op lookup on chain (%s)', (version) => {
  const m = () => mined.find((x) => x.version === version)!

  it('finds each mined op by hash and recovers it from the handleOps calldata', async () => {
    const { bundle, a, b, c } = m()
    for (const x of [a, b, c]) {
      const found = await lookup.getUserOperation(x.hash)
      expect(found).not.toBeNull()
      expect(found!.userOperation).toEqual(x.op)
      expect(found!.entryPoint).toBe(chain.deployment.entryPoints[version])
      expect(found!.transactionHash).toBe(bundle.txHash)
      expect(found!.blockNumber).toBe(bundle.receipt.blockNumber)
      expect(found!.blockHash).toBe(bundle.receipt.blockHash)
    }
    expect(a.op.factory).toBeDefined() // the first op deployed its account: factory fields survive the round trip
  })

  it('builds receipts with the event fields and only the op’s own execution logs', async () => {
    const { bundle, a, b } = m()
    const ra = await lookup.getUserOperationReceipt(a.hash)
    const ev = bundle.events.find((e) => e.userOpHash === a.hash)!
    expect(ra).toMatchObject({
      userOpHash: a.hash,
      entryPoint: chain.deployment.entryPoints[version],
      sender: a.op.sender,
      nonce: a.op.nonce,
      paymaster: zeroAddress,
      actualGasCost: ev.actualGasCost,
      actualGasUsed: ev.actualGasUsed,
      success: true,
    })
    expect(ra!.reason).toBeUndefined()
    expect((ra!.receipt as { transactionHash: Hash }).transactionHash).toBe(bundle.txHash)
    expect((ra!.receipt as { status: string }).status).toBe('0x1')

    // The prefund deposits of validation come before BeforeExecution and belong to no op.
    const depA = depositsIn(ra!.logs)
    expect(depA).toHaveLength(1)
    expect(depA[0]!.args.account).toBe(a.op.sender)

    const rb = await lookup.getUserOperationReceipt(b.hash)
    const depB = depositsIn(rb!.logs)
    expect(depB).toHaveLength(1)
    expect(depB[0]!.args.account).toBe(b.beneficiary)
    const allDeposits = depositsIn((bundle.receipt.logs as unknown as RpcLog[]) ?? [])
    expect(allDeposits.length).toBeGreaterThan(2)
  })

  it('gives a reverted op success false and its revert reason', async () => {
    const { c } = m()
    const rc = await lookup.getUserOperationReceipt(c.hash)
    expect(rc!.success).toBe(false)
    // its only log is the EntryPoint's UserOperationRevertReason for it
    expect(rc!.logs).toHaveLength(1)
    expect(rc!.logs[0]!.topics[1]).toBe(c.hash)
    // v0.6–v0.8's SimpleAccount reverts with a message, v0.9's with a custom error.
    expect(describeRevert(decodeRevert(rc!.reason!))).toMatch(
      /^account: not Owner or EntryPoint$|^NotOwnerOrEntryPoint\(/,
    )
  })
})

describe('op lookup misses and the RPC on top of it', () => {
  it('answers null for a hash that was never mined', async () => {
    const nope = `0x${'ab'.repeat(32)}` as Hash
    expect(await lookup.getUserOperation(nope)).toBeNull()
    expect(await lookup.getUserOperationReceipt(nope)).toBeNull()
  })

  it('limits the search to blockDistance blocks back from the head', async () => {
    const { a, version } = mined[0]!
    const head = await chain.client.getBlockNumber({ cacheTime: 0 })
    const minedAt = mined[0]!.bundle.receipt.blockNumber
    const near = createOpLookup({
      client: chain.client,
      entryPoints: [chain.deployment.entryPoints[version]],
      blockDistance: head - minedAt,
    })
    expect(await near.getUserOperation(a.hash)).not.toBeNull()
    const tooNear = createOpLookup({
      client: chain.client,
      entryPoints: [chain.deployment.entryPoints[version]],
      blockDistance: head - minedAt - 1n,
    })
    expect(await tooNear.getUserOperation(a.hash)).toBeNull()
  })

  it('serves ops the pool forgot through the RPC in a form viem’s bundler client reads', async () => {
    const forgetful = {
      getOp: async () => undefined,
      getMinedOp: async () => undefined,
      isCurrent: async () => true,
    } as unknown as Pool & PoolQuery & PoolDebug
    let server: RpcServer | undefined
    try {
      server = await startRpcServer({
        chainId: chain.chainId,
        entryPoints: ENTRY_POINT_VERSIONS.map((v) => chain.deployment.entryPoints[v]),
        pool: forgetful,
        estimator: { estimate: async () => Promise.reject(new Error('not used')) },
        client: chain.client,
        registry: new Registry(),
        logger: pino({ level: 'silent' }),
        enableDebug: false,
      })
      const bundler = createBundlerClient({ transport: http(server.url) })
      for (const m of mined) {
        const got = await bundler.getUserOperation({ hash: m.b.hash })
        expect(got.transactionHash).toBe(m.bundle.txHash)
        expect(got.blockNumber).toBe(m.bundle.receipt.blockNumber)
        expect(got.userOperation.sender).toBe(m.b.op.sender)
        expect(got.userOperation.callData).toBe(m.b.op.callData)
        expect(got.userOperation.nonce).toBe(m.b.op.nonce)

        const receipt = await bundler.getUserOperationReceipt({ hash: m.c.hash })
        expect(receipt.success).toBe(false)
        expect(receipt.actualGasUsed).toBeGreaterThan(0n)
        expect(receipt.receipt.transactionHash).toBe(m.bundle.txHash)
        expect(receipt.receipt.status).toBe('success')
      }
    } finally {
      await server?.close()
    }
  })
})

/** Runtime code that forwards its calldata to `target` and reverts if that call fails. */
function forwarderCode(target: Address): Hex {
  // CALLDATACOPY(0,0,size); CALL(gas, target, 0, 0, size, 0, 0); if !ok revert(0,0)
  return `0x365f5f375f5f365f5f73${target.slice(2).toLowerCase()}5af115602557005b5f5ffd` as Hex
}

describe('op lookup through a call trace', () => {
  it('finds an op whose bundle went through a forwarding contract', async () => {
    const version = 'v0.7'
    const ep = chain.deployment.entryPoints[version]
    const forwarder = '0x00000000000000000000000000000000000f0a4d' as Address
    await chain.client.request({
      method: 'anvil_setCode' as never,
      params: [forwarder, forwarderCode(ep)] as never,
    })
    const { op, hash } = await buildOp(chain, version, { owner: newOwner() })
    const bundler = newOwner()
    await chain.client.request({
      method: 'anvil_setBalance' as never,
      params: [bundler.address, numberToHex(10n ** 20n)] as never,
    })
    const data = handleOpsCallData(version, [op], bundler.address)
    const fees = await currentFees(chain)
    const raw = await bundler.signTransaction({
      type: 'eip1559',
      chainId: chain.chainId,
      nonce: 0,
      to: forwarder,
      data,
      gas: bundleGasLimit([op], data) + 50_000n,
      ...fees,
    })
    const txHash = await chain.client.sendRawTransaction({ serializedTransaction: raw })
    const receipt = await chain.client.waitForTransactionReceipt({ hash: txHash, timeout: 30_000 })
    expect(receipt.status).toBe('success')

    const found = await lookup.getUserOperation(hash)
    expect(found?.transactionHash).toBe(txHash)
    expect(found?.userOperation).toEqual(op)
  })
})
