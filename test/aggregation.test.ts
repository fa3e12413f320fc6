/**
 * Signature aggregation in the product (ERC-7766), on anvil with the real EntryPoints and the
 * project's own aggregator, account and factory (contracts/src/AggregationTest.sol): `conveyor node`
 * composed from flags with `--aggregators`, ops sent over eth_sendUserOperation, bundles built by
 * the real builder and mined.
 */
import { type Address, decodeFunctionData, type Hash, type Hex, numberToHex, parseEventLogs } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type App, startApp } from '../src/app.js'
import { BUNDLE_ABI } from '../src/chain/bundle-calldata.js'
import { chainSpecFor } from '../src/chain/chain-spec.js'
import { type EntryPointVersion, entryPointAbi } from '../src/chain/entrypoint.js'
import type { UserOperation } from '../src/chain/userop.js'
import { loadConfig } from '../src/config/index.js'
import { encodeUserOp } from '../src/rpc/encode.js'
import { buildOp, newOwner } from './harness/account.js'
import { startTestChain, type TestChain } from './harness/chain.js'
import { AggregationDeployer, aggregatedOp, type TestAggregation } from './support/aggregation.js'
import { capturedLogger } from './support/relay-bundle.js'

type BundleCall = ReturnType<typeof decodeFunctionData<typeof BUNDLE_ABI>>
interface PerAggregator {
  aggregator: Address
  signature: Hex
  userOps: readonly { signature: Hex }[]
}

/** The UserOpsPerAggregator entries of a handleAggregatedOps call. */
function perAggregator(call: BundleCall): readonly PerAggregator[] {
  if (call.functionName !== 'handleAggregatedOps') throw new Error(`a ${call.functionName} bundle`)
  return call.args[0]
}

let chain: TestChain
beforeAll(async () => {
  chain = await startTestChain()
}, 60_000)
afterAll(async () => {
  await chain?.stop()
})

describe.each(['v0.7', 'v0.8'] as EntryPointVersion[])('aggregated ops in the product (%s)', (version) => {
  let app: App
  let ep: Address
  /** Served: a and b bundle together; c, d and e are made to fail; s is served but not staked. */
  const agg = {} as Record<'a' | 'b' | 'c' | 'd' | 'e' | 's' | 'unserved', TestAggregation>

  beforeAll(async () => {
    ep = chain.deployment.entryPoints[version]
    const deployer = new AggregationDeployer(chain)
    for (const k of ['a', 'b', 'c', 'd', 'e', 'unserved'] as const) agg[k] = await deployer.deploy(version)
    agg.s = await deployer.deploy(version, { staked: false })
    const key = generatePrivateKey()
    await chain.client.request({
      method: 'anvil_setBalance' as never,
      params: [privateKeyToAccount(key).address, numberToHex(10n ** 21n)] as never,
    })
    const served = (['a', 'b', 'c', 'd', 'e', 's'] as const).map((k) => agg[k].aggregator)
    const config = loadConfig({
      command: 'node',
      argv: [
        `--node_http=${chain.url}`,
        `--entry_points=${ep}`,
        '--rpc.port=0',
        '--metrics.port=0',
        '--bundling_mode=manual',
        `--signer.private_keys=${key}`,
        `--aggregators=${served.join(',')}`,
      ],
    })
    expect(config.aggregators).toEqual(served)
    app = await startApp({
      config,
      nodeUrl: chain.url,
      chainId: chain.chainId,
      chainSpec: chainSpecFor(chain.chainId),
      log: capturedLogger().logger,
    })
  }, 120_000)
  afterAll(async () => {
    await app?.stop()
  })

  async function send(
    op: UserOperation,
  ): Promise<{ result?: Hash; error?: { code: number; message: string } }> {
    const res = await fetch(app.rpcUrl as string, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'eth_sendUserOperation',
        params: [encodeUserOp(op), ep],
      }),
    })
    return (await res.json()) as { result?: Hash; error?: { code: number; message: string } }
  }

  async function admit(op: UserOperation): Promise<Hash> {
    const r = await send(op)
    if (!r.result) throw new Error(`refused: ${JSON.stringify(r.error)}`)
    return r.result
  }

  /** sendBundleNow → the mined bundle: its calldata decoded, and each op's UserOperationEvent. */
  async function bundleNow() {
    const r = await app.builder!.sendBundleNow()
    if (r.kind !== 'mined') throw new Error(`no bundle mined: ${JSON.stringify(r)}`)
    const tx = await chain.client.getTransaction({ hash: r.txHash })
    const receipt = await chain.client.getTransactionReceipt({ hash: r.txHash })
    const events = parseEventLogs({
      abi: entryPointAbi(version),
      eventName: 'UserOperationEvent',
      logs: receipt.logs,
    })
    const success = new Map(
      events.map((e) => {
        const args = e.args as { userOpHash: Hash; success: boolean }
        return [args.userOpHash, args.success]
      }),
    )
    return { call: decodeFunctionData({ abi: BUNDLE_ABI, data: tx.input }), receipt, success }
  }

  const plainOp = async () => (await buildOp(chain, version, { owner: newOwner() })).op

  it('two aggregators and plain ops: one handleAggregatedOps, each op carrying its sigForUserOp, every op successful', async () => {
    const ops = {
      a: [await aggregatedOp(chain, version, agg.a), await aggregatedOp(chain, version, agg.a)],
      b: [await aggregatedOp(chain, version, agg.b), await aggregatedOp(chain, version, agg.b)],
    }
    const hashes = {
      a: await Promise.all(ops.a.map((o) => admit(o.op))),
      b: await Promise.all(ops.b.map((o) => admit(o.op))),
      plain: [await admit(await plainOp()), await admit(await plainOp())],
    }
    expect(hashes.a).toEqual(ops.a.map((o) => o.hash))
    // Admission recorded what each aggregated op will carry: the aggregator's (empty) sigForUserOp.
    for (const h of hashes.a)
      expect((await app.pool.getOp(h))?.validation.aggregator?.sigForUserOp).toBe('0x')

    const mined = await bundleNow()
    expect(mined.receipt.status).toBe('success')
    expect(mined.call.functionName).toBe('handleAggregatedOps')
    const groups = perAggregator(mined.call).map((g) => ({
      aggregator: g.aggregator.toLowerCase(),
      ops: g.userOps.length,
      // Plain ops keep their own (65-byte) signatures; aggregated ops carry the sigForUserOp.
      opSignatureBytes: [...new Set(g.userOps.map((o) => (o.signature.length - 2) / 2))],
      aggregateBytes: (g.signature.length - 2) / 2,
    }))
    const ZERO = '0x0000000000000000000000000000000000000000'
    expect(groups).toEqual([
      { aggregator: ZERO, ops: 2, opSignatureBytes: [65], aggregateBytes: 0 },
      { aggregator: agg.a.aggregator.toLowerCase(), ops: 2, opSignatureBytes: [0], aggregateBytes: 130 },
      { aggregator: agg.b.aggregator.toLowerCase(), ops: 2, opSignatureBytes: [0], aggregateBytes: 130 },
    ])
    for (const h of [...hashes.a, ...hashes.b, ...hashes.plain]) {
      expect(mined.success.get(h), h).toBe(true)
      expect(await app.pool.getOp(h)).toBeUndefined()
    }
  }, 60_000)

  for (const [which, mode, step] of [
    ['c', 1, 'aggregateSignatures'],
    ['d', 2, 'validateSignatures'],
    // Passes the proposer's own aggregation check and fails only inside handleAggregatedOps: the
    // bundle check's SignatureValidationFailed branch removes the group.
    ['e', 3, 'validateSignatures (only when the EntryPoint calls it)'],
  ] as const) {
    it(`an aggregator whose ${step} reverts costs only its group: its ops leave the pool, it is penalised, the rest lands`, async () => {
      const good = await admit((await aggregatedOp(chain, version, agg.a)).op)
      const plain = await admit(await plainOp())
      const bad = [
        await admit((await aggregatedOp(chain, version, agg[which])).op),
        await admit((await aggregatedOp(chain, version, agg[which])).op),
      ]
      await agg[which].setFailMode(mode)

      const mined = await bundleNow()
      expect(mined.receipt.status).toBe('success')
      expect(mined.call.functionName).toBe('handleAggregatedOps')
      const aggregators = perAggregator(mined.call).map((g) => g.aggregator.toLowerCase())
      expect(aggregators).not.toContain(agg[which].aggregator.toLowerCase())
      expect(mined.success.get(good)).toBe(true)
      expect(mined.success.get(plain)).toBe(true)
      for (const h of bad) {
        expect(mined.success.has(h)).toBe(false)
        expect(await app.pool.getOp(h)).toBeUndefined()
      }
      const rep = await app.pool.dumpReputation(ep)
      const entry = rep.find((r) => r.address.toLowerCase() === agg[which].aggregator.toLowerCase())
      expect(entry?.status).toBe('banned')
      // Banned now: a new op naming it is refused at admission.
      const again = await send((await aggregatedOp(chain, version, agg[which])).op)
      expect(again.error?.code).toBe(-32504)
    }, 60_000)
  }

  it('admission: an unserved aggregator is -32506, an unstaked one -32505, a wrong signature -32507, each naming the aggregator', async () => {
    const unserved = await send((await aggregatedOp(chain, version, agg.unserved)).op)
    expect(unserved.error?.code).toBe(-32506)
    expect(unserved.error?.message).toContain(agg.unserved.aggregator)
    const unstaked = await send((await aggregatedOp(chain, version, agg.s)).op)
    expect(unstaked.error?.code).toBe(-32505)
    expect(unstaked.error?.message).toContain(agg.s.aggregator)
    const forged = await send((await aggregatedOp(chain, version, agg.a, { signer: newOwner() })).op)
    expect(forged.error?.code).toBe(-32507)
    expect(forged.error?.message).toContain(agg.a.aggregator)
    expect(forged.error?.message).toContain('bad op signature')
  }, 60_000)
})
