/**
 * `conveyor node --num_signers 4` on an anvil mining a block every second: 200 ops from 200 fresh
 * SimpleAccounts, sent over eth_sendUserOperation with some concurrency, all mined once; the four
 * signers' bundles are disjoint and each carries only its own shard (uint256(sender) mod 4).
 */
import { type Address, getAddress, type Hash, type Hex, numberToHex } from 'viem'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { shardOf } from '../src/pool/shard.js'
import { startTestChain, type TestChain } from './harness/chain.js'
import {
  buildFreshOps,
  jsonRpc,
  minedTxsFrom,
  opHashesInBundle,
  sendOps,
  stopConveyor,
  userOpEvents,
} from './support/bundler-load.js'
import { conveyor, type Run } from './support/conveyor-process.js'
import { waitFor } from './support/wait.js'

const VERSION = 'v0.7' as const
const SIGNERS = 4
const OPS = 200

describe(`conveyor node with ${SIGNERS} signers (anvil, 1 s blocks)`, () => {
  let chain: TestChain
  let run: Run | undefined
  let rpcUrl: string
  let adminUrl: string
  const keys: Hex[] = Array.from({ length: SIGNERS }, () => generatePrivateKey())
  const signers: Address[] = keys.map((k) => privateKeyToAddress(k))

  beforeAll(async () => {
    chain = await startTestChain({ blockTime: 1 })
    for (const s of signers) {
      await chain.client.request({
        method: 'anvil_setBalance' as never,
        params: [s, numberToHex(10n ** 21n)] as never,
      })
    }
    run = conveyor([
      'node',
      '--node_http',
      chain.url,
      '--signer.private_keys',
      keys.join(','),
      '--num_signers',
      String(SIGNERS),
      '--rpc.port',
      '0',
      '--metrics.port',
      '0',
      '--rpc.enable_debug_methods',
      '--entry_points',
      VERSION,
      // Every account here is deployed by one factory: keep its unstaked allowance out of the way.
      '--pool.allowlist',
      chain.deployment.factories[VERSION],
      '--log.level',
      'warn',
    ])
    const ready = await run.ready(30_000)
    rpcUrl = ready.rpcUrl as string
    adminUrl = ready.adminUrl as string
  }, 90_000)

  afterAll(async () => {
    await stopConveyor(run)
    await chain?.stop()
  })

  it(`mines ${OPS} ops from ${OPS} senders once each, sharded over all ${SIGNERS} signers`, async () => {
    const entryPoint = chain.deployment.entryPoints[VERSION]
    const startBlock = await chain.client.getBlockNumber()

    // Which signer runs which shard, as the bundler reports it once every sender holds its key.
    type Status = { index: number; signer?: Address }
    let status: Status[] = []
    await waitFor(async () => {
      status = await jsonRpc<Status[]>(rpcUrl, 'debug_bundler_getSenderStatus')
      return status.length === SIGNERS && status.every((x) => x.signer !== undefined)
    }, 'every sender to hold its signer')
    const shardOfSigner = new Map(status.map((s) => [getAddress(s.signer!), s.index]))
    expect([...shardOfSigner.keys()].sort()).toEqual(signers.map((s) => getAddress(s)).sort())

    const built = await buildFreshOps(chain, VERSION, OPS, 16)
    expect(new Set(built.map((b) => b.sender)).size).toBe(OPS)
    const shardOfOp = new Map(built.map((b) => [b.hash.toLowerCase() as Hash, shardOf(b.sender, SIGNERS)]))
    // 200 random senders cover every shard (the chance one is empty is below 1e-24).
    expect(new Set(shardOfOp.values()).size).toBe(SIGNERS)
    await sendOps(rpcUrl, entryPoint, built, 12)
    const hashes = [...shardOfOp.keys()]

    // Bounded wait for every op to be mined (a hang guard: the assertions come after).
    let events = new Map<Hash, { txHash: Hash; success: boolean }[]>()
    let head = startBlock
    await waitFor(
      async () => {
        head = await chain.client.getBlockNumber()
        events = await userOpEvents(chain.client, entryPoint, startBlock + 1n, head)
        return hashes.every((h) => events.has(h))
      },
      `all ${OPS} ops to be mined`,
      { timeoutMs: 150_000, intervalMs: 500 },
    )
    // Two more blocks, in which a duplicate inclusion would show.
    await waitFor(async () => (await chain.client.getBlockNumber()) >= head + 2n, 'two more blocks', {
      intervalMs: 200,
    })
    head = await chain.client.getBlockNumber()
    events = await userOpEvents(chain.client, entryPoint, startBlock + 1n, head)

    // Each userOpHash has exactly one UserOperationEvent, and it succeeded.
    const counts = hashes.filter((h) => events.get(h)?.length !== 1)
    expect(counts, 'ops without exactly one UserOperationEvent').toEqual([])
    expect(hashes.filter((h) => events.get(h)?.[0]?.success !== true)).toEqual([])

    // Who sent each bundle: every op's bundle transaction is from one of our signers.
    const txs = await minedTxsFrom(chain.client, signers, startBlock + 1n, head)
    const txByHash = new Map(txs.map((t) => [t.hash, t]))
    for (const h of hashes) expect(txByHash.has(events.get(h)![0]!.txHash), `bundle of ${h}`).toBe(true)

    // Each op is in exactly one bundle's calldata, and each signer's bundles hold only its own shard.
    const bundlesOfOp = new Map<Hash, Hash[]>()
    const opsBySigner = new Map<Address, Set<Hash>>()
    for (const t of txs) {
      const ops = opHashesInBundle(t.input, entryPoint, chain.chainId, VERSION)
      const mine = opsBySigner.get(getAddress(t.from)) ?? new Set<Hash>()
      for (const h of ops) {
        bundlesOfOp.set(h, [...(bundlesOfOp.get(h) ?? []), t.hash])
        mine.add(h)
      }
      opsBySigner.set(getAddress(t.from), mine)
      const receipt = await chain.client.getTransactionReceipt({ hash: t.hash })
      expect(receipt.status, `bundle ${t.hash}`).toBe('success')
    }
    expect(hashes.filter((h) => bundlesOfOp.get(h)?.length !== 1)).toEqual([])

    // All four signers bundled; their op sets are disjoint and each is exactly its shard.
    expect(opsBySigner.size).toBe(SIGNERS)
    const seen = new Set<Hash>()
    for (const [signer, ops] of opsBySigner) {
      const shard = shardOfSigner.get(signer)
      expect(ops.size, `ops bundled by ${signer}`).toBeGreaterThan(0)
      for (const h of ops) {
        expect(seen.has(h), `op ${h} in two signers' bundles`).toBe(false)
        seen.add(h)
        expect(shardOfOp.get(h), `shard of op ${h} bundled by signer of shard ${shard}`).toBe(shard)
      }
      const expected = hashes.filter((h) => shardOfOp.get(h) === shard).sort()
      expect([...ops].sort()).toEqual(expected)
    }

    // Each signer's nonces are distinct.
    for (const s of signers) {
      const nonces = txs.filter((t) => getAddress(t.from) === getAddress(s)).map((t) => t.nonce)
      expect(new Set(nonces).size).toBe(nonces.length)
    }

    // The senders told the block share of their mined bundles: the cap on a bundle's gas limit that
    // lets all four into a block is set, between a quarter of the block (bundles full to their
    // limit) and the whole block (bundles using nothing), G / (1 + 3·used/limit).
    const { gasLimit } = await chain.client.getBlock()
    const metrics = await (await fetch(`${adminUrl}/metrics`)).text()
    const share = Number(/^conveyor_proposer_block_share_gas (\d+)$/m.exec(metrics)?.[1])
    expect(share).toBeGreaterThanOrEqual(Number(gasLimit) / SIGNERS)
    expect(share).toBeLessThan(Number(gasLimit))
    expect(run!.child.exitCode).toBeNull()
  }, 240_000)
})
