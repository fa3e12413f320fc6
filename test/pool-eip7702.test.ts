import { createWalletClient, http, type PrivateKeyAccount } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chainSpecFor } from '../src/chain/chain-spec.js'
import { ENTRY_POINT_VERSIONS } from '../src/chain/entrypoint.js'
import { defaultSimSettings } from '../src/sim/settings.js'
import { Simulator } from '../src/sim/simulator.js'
import { RpcError } from '../src/util/errors.js'
import { newOwner } from './harness/account.js'
import { startTestChain, type TestChain } from './harness/chain.js'
import { build7702Op, implementation, signAuth } from './harness/eip7702.js'
import { type AnyPool, makePool, POOL_BACKENDS, usePoolBackend } from './support/pool-backends.js'

// The pool's EIP-7702 rules on both backends (real anvil, real EntryPoint v0.8, real simulation).
let chain: TestChain
beforeAll(async () => {
  chain = await startTestChain()
})
afterAll(async () => {
  await chain?.stop()
})

const VERSION = 'v0.8' as const

async function startPool(): Promise<AnyPool> {
  const pool = makePool({
    settings: { chainId: chain.chainId, blockPollIntervalMs: 25, chainHistoryBlocks: 16 },
    client: chain.client,
    validator: new Simulator({
      client: chain.client,
      settings: defaultSimSettings(chainSpecFor(chain.chainId)),
    }),
    entryPoints: ENTRY_POINT_VERSIONS.map((v) => chain.deployment.entryPoints[v]),
  })
  await pool.start()
  return pool
}

async function refusal(p: Promise<unknown>): Promise<RpcError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  if (!(err instanceof RpcError)) throw new Error(`expected an RpcError, got ${String(err)}`)
  return err
}

const authorizedOp = async (owner: PrivateKeyAccount, nonce?: bigint, bump = 0n) => {
  const auth = await signAuth(chain, owner, implementation(chain, VERSION))
  const base = await chain.client.getBlock()
  const tip = 10n ** 9n + bump
  return build7702Op(chain, VERSION, {
    owner,
    auth,
    nonce,
    fees: { maxFeePerGas: (base.baseFeePerGas ?? 0n) * 2n + tip, maxPriorityFeePerGas: tip },
  })
}

describe.each(POOL_BACKENDS)('%s pool: EIP-7702 rules', (backend) => {
  usePoolBackend(backend)

  it('one op with an authorization per sender; replacing it is allowed', async () => {
    const pool = await startPool()
    const ep = chain.deployment.entryPoints[VERSION]
    const owner = newOwner()
    const first = await authorizedOp(owner)
    expect(await pool.addOp(ep, first.op)).toBe(first.hash)
    // Another nonce key of the same EOA, again with an authorization.
    const second = await authorizedOp(owner, 1n << 64n)
    const err = await refusal(pool.addOp(ep, second.op))
    expect(err.code).toBe(-32602)
    expect(err.message).toContain('already has an op with an authorization')
    expect(err.data).toMatchObject({ field: 'eip7702Auth', pooled: first.hash.toLowerCase() })
    const replacement = await authorizedOp(owner, first.op.nonce, 10n ** 9n)
    expect(await pool.addOp(ep, replacement.op)).toBe(replacement.hash)
    expect((await pool.dumpMempool(ep)).map((o) => o.hash)).toEqual([replacement.hash])
  })

  it("drops an op whose authorization nonce the EOA's own transaction consumed, with the reason", async () => {
    const pool = await startPool()
    const ep = chain.deployment.entryPoints[VERSION]
    const owner = newOwner()
    const { op, hash } = await authorizedOp(owner)
    await pool.addOp(ep, op)
    const wallet = createWalletClient({ account: owner, transport: http(chain.url) })
    const tx = await wallet.sendTransaction({ chain: null, to: owner.address, value: 0n })
    await chain.client.waitForTransactionReceipt({ hash: tx })
    const deadline = Date.now() + 15_000
    while (pool.droppedReason(hash) === undefined && Date.now() < deadline) {
      await pool.settled()
      await new Promise((r) => setTimeout(r, 50))
    }
    expect(pool.droppedReason(hash)).toContain('eip7702Auth: nonce 0 of')
    expect(await pool.getOp(hash)).toBeUndefined()
  })
})
