import fc from 'fast-check'
import {
  type Address,
  createPublicClient,
  custom,
  getAddress,
  type Hash,
  type PublicClient,
  pad,
  toHex,
} from 'viem'
import { describe, expect, it } from 'vitest'
import { ENTRY_POINTS } from '../src/chain/entrypoint.js'
import type { UserOperation } from '../src/chain/userop.js'
import type { PoolSettingsInput } from '../src/pool/settings.js'
import { shardOf } from '../src/pool/shard.js'
import type { StakeInfo, ValidationResult, Validator } from '../src/sim/types.js'
import { RpcCode, RpcError } from '../src/util/errors.js'
import { admittedValidation } from './support/fake-validation.js'
import { makePool, POOL_BACKENDS, usePoolBackend } from './support/pool-backends.js'

// Pure mempool rules: a plain fake Validator (admits everything, reports stake from a set) and a
// node that has no logs. The real-chain behaviour is in pool-chain.test.ts.
const EP = ENTRY_POINTS['v0.7'].address

const addr = (n: number | bigint): Address => getAddress(pad(toHex(n), { size: 20 }))

function stake(address: Address, staked: Set<string>): StakeInfo {
  const isStaked = staked.has(address.toLowerCase())
  return { address, stake: isStaked ? 10n ** 18n : 0n, unstakeDelaySec: isStaked ? 86_400n : 0n, isStaked }
}

class FakeValidator implements Validator {
  readonly staked = new Set<string>()
  calls = 0
  async validate(_ep: Address, op: UserOperation): Promise<ValidationResult> {
    this.calls++
    return admittedValidation(stake(op.sender, this.staked), {
      factory: op.factory ? stake(op.factory, this.staked) : undefined,
      paymaster: op.paymaster ? stake(op.paymaster, this.staked) : undefined,
    })
  }
}

/** A node with no logs and a latest block at `baseFee`; enough for processBlock. */
function fakeClient(): PublicClient {
  return createPublicClient({
    transport: custom({
      async request({ method }: { method: string }) {
        if (method === 'eth_getLogs') return []
        if (method === 'eth_blockNumber') return '0x1'
        throw new Error(`unexpected ${method}`)
      },
    }),
  }) as PublicClient
}

function op(
  sender: Address,
  nonce: bigint,
  prio: bigint,
  maxFee: bigint,
  extra: Partial<UserOperation> = {},
): UserOperation {
  return {
    sender,
    nonce,
    callData: '0x',
    callGasLimit: 100_000n,
    verificationGasLimit: 100_000n,
    preVerificationGas: 50_000n,
    maxFeePerGas: maxFee,
    maxPriorityFeePerGas: prio,
    signature: '0x',
    ...extra,
  }
}

function newPool(settings: Partial<PoolSettingsInput> = {}) {
  const validator = new FakeValidator()
  const pool = makePool({
    settings: { chainId: 31337, ...settings },
    client: fakeClient(),
    validator,
    entryPoints: [EP],
  })
  return { pool, validator }
}

let blockNo = 1n
function block(baseFeePerGas: bigint) {
  blockNo++
  return {
    number: blockNo,
    hash: pad(toHex(blockNo), { size: 32 }),
    parentHash: pad(toHex(blockNo - 1n), { size: 32 }),
    timestamp: blockNo,
    baseFeePerGas,
  }
}

async function rejection(p: Promise<unknown>): Promise<RpcError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(RpcError)
  return err as RpcError
}

const hashesOf = (ops: { hash: Hash }[]) => ops.map((o) => o.hash)

describe.each(POOL_BACKENDS)('%s pool', (backend) => {
  usePoolBackend(backend)

  describe('pool ordering', () => {
    it('orders by effective tip at the current base fee, highest first, ties by arrival', async () => {
      const { pool } = newPool()
      const a = await pool.addOp(EP, op(addr(1), 0n, 10n, 100n)) // tip 10 until base fee 90
      const b = await pool.addOp(EP, op(addr(2), 0n, 50n, 60n)) // tip 50 at base 0, falls fast
      const c = await pool.addOp(EP, op(addr(3), 0n, 10n, 100n)) // ties with a, arrived later
      const d = await pool.addOp(EP, op(addr(4), 0n, 30n, 1000n))
      const q = { entryPoint: EP, maxOps: 10, shardIndex: 0 }
      expect(hashesOf(await pool.getOps(q))).toEqual([b, d, a, c])

      await pool.processBlock(block(55n)) // b: min(50, 60-55) = 5
      expect(pool.baseFee()).toBe(55n)
      expect(hashesOf(await pool.getOps(q))).toEqual([d, a, c, b])
      expect(hashesOf(await pool.getOps({ ...q, maxOps: 2 }))).toEqual([d, a])

      await pool.processBlock(block(95n)) // a, c: min(10, 5) = 5; b: -35; d: 30
      expect(hashesOf(await pool.getOps(q))).toEqual([d, a, c, b])
      await pool.processBlock(block(0n))
      expect(hashesOf(await pool.getOps(q))).toEqual([b, d, a, c])
    })

    it('dumps in insertion order, not fee order; looks ops up by hash', async () => {
      const { pool } = newPool()
      const h1 = await pool.addOp(EP, op(addr(1), 0n, 1n, 10n))
      const h2 = await pool.addOp(EP, op(addr(2), 0n, 9n, 10n))
      const h3 = await pool.addOp(EP, op(addr(3), 0n, 5n, 10n))
      expect(hashesOf(await pool.dumpMempool(EP))).toEqual([h1, h2, h3])
      expect((await pool.getOp(h2))?.op.sender).toBe(addr(2))
      expect(await pool.getOp(pad('0xdead', { size: 32 }))).toBeUndefined()
      await pool.removeOps(EP, [h2])
      expect(hashesOf(await pool.dumpMempool(EP))).toEqual([h1, h3])
      expect(await pool.getOp(h2)).toBeUndefined()
    })

    it('rejects an unknown EntryPoint, a duplicate op and a bad shard index', async () => {
      const { pool, validator } = newPool({ numShards: 2 })
      expect((await rejection(pool.addOp(addr(99), op(addr(1), 0n, 1n, 2n)))).code).toBe(
        RpcCode.InvalidParams,
      )
      const o = op(addr(1), 0n, 1n, 2n)
      await pool.addOp(EP, o)
      const calls = validator.calls
      const dup = await rejection(pool.addOp(EP, o))
      expect(dup.message).toMatch(/already in the mempool/)
      expect(validator.calls).toBe(calls) // rejected before simulation
      const bad = await rejection(pool.getOps({ entryPoint: EP, maxOps: 1, shardIndex: 2 }))
      expect(bad.code).toBe(RpcCode.InvalidParams)
      expect(bad.message).toMatch(/0\.\.1/)
    })
  })

  describe('replacement', () => {
    it('needs both fees raised by 10%: +9% is rejected with what is needed, +10% on both is accepted', async () => {
      const { pool } = newPool()
      const sender = addr(7)
      const first = await pool.addOp(EP, op(sender, 3n, 1000n, 2000n))
      const plus9 = await rejection(pool.addOp(EP, op(sender, 3n, 1090n, 2180n)))
      expect(plus9.code).toBe(RpcCode.InvalidParams)
      expect(plus9.message).toContain('maxPriorityFeePerGas >= 1100')
      expect(plus9.message).toContain('maxFeePerGas >= 2200')
      // Only one field raised enough.
      await rejection(pool.addOp(EP, op(sender, 3n, 1100n, 2199n)))
      await rejection(pool.addOp(EP, op(sender, 3n, 1099n, 2200n)))
      expect(hashesOf(await pool.dumpMempool(EP))).toEqual([first])

      const second = await pool.addOp(EP, op(sender, 3n, 1100n, 2200n))
      expect(hashesOf(await pool.dumpMempool(EP))).toEqual([second])
      expect(await pool.getOp(first)).toBeUndefined()
    })

    it('rounds the required fees up and honours a configured percentage', async () => {
      const { pool } = newPool({ replacementFeePercentIncrease: 25 })
      const sender = addr(8)
      await pool.addOp(EP, op(sender, 0n, 3n, 7n)) // 3·1.25 = 3.75 → 4; 7·1.25 = 8.75 → 9
      const err = await rejection(pool.addOp(EP, op(sender, 0n, 3n, 8n)))
      expect(err.message).toContain('maxPriorityFeePerGas >= 4')
      expect(err.message).toContain('maxFeePerGas >= 9')
      await pool.addOp(EP, op(sender, 0n, 4n, 9n))
    })

    it('a replacement does not count against the per-sender limit', async () => {
      const { pool } = newPool()
      const sender = addr(9)
      for (let n = 0n; n < 4n; n++) await pool.addOp(EP, op(sender, n, 10n, 10n))
      await pool.addOp(EP, op(sender, 2n, 11n, 11n))
      expect((await pool.dumpMempool(EP)).length).toBe(4)
    })
  })

  describe('limits', () => {
    it('allows 4 ops per unstaked sender (configurable), more for a staked one', async () => {
      const { pool, validator } = newPool({ maxOpsPerStakedSender: 6 })
      const unstaked = addr(10)
      for (let n = 0n; n < 4n; n++) await pool.addOp(EP, op(unstaked, n, 1n, 1n))
      const err = await rejection(pool.addOp(EP, op(unstaked, 4n, 1n, 1n)))
      expect(err.code).toBe(RpcCode.BannedOrThrottled)
      expect(err.message).toMatch(/unstaked sender is 4/)

      const staked = addr(11)
      validator.staked.add(staked.toLowerCase())
      for (let n = 0n; n < 6n; n++) await pool.addOp(EP, op(staked, n, 1n, 1n))
      await rejection(pool.addOp(EP, op(staked, 6n, 1n, 1n)))

      const { pool: two } = newPool({ maxOpsPerUnstakedSender: 2 })
      await two.addOp(EP, op(unstaked, 0n, 1n, 1n))
      await two.addOp(EP, op(unstaked, 1n, 1n, 1n))
      await rejection(two.addOp(EP, op(unstaked, 2n, 1n, 1n)))
    })

    it('at the size cap evicts the lowest-paying op, and rejects a newcomer that would be the lowest', async () => {
      const { pool } = newPool({ maxPoolOps: 3 })
      const low = await pool.addOp(EP, op(addr(1), 0n, 5n, 100n))
      const mid = await pool.addOp(EP, op(addr(2), 0n, 7n, 100n))
      const high = await pool.addOp(EP, op(addr(3), 0n, 9n, 100n))
      // Equal to the lowest tip: it would rank last (later arrival), so it is refused.
      const refused = await rejection(pool.addOp(EP, op(addr(4), 0n, 5n, 100n)))
      expect(refused.message).toMatch(/mempool is full/)
      expect((await pool.dumpMempool(EP)).length).toBe(3)

      const better = await pool.addOp(EP, op(addr(5), 0n, 6n, 100n))
      expect(await pool.getOp(low)).toBeUndefined()
      expect(hashesOf(await pool.getOps({ entryPoint: EP, maxOps: 10, shardIndex: 0 }))).toEqual([
        high,
        mid,
        better,
      ])
    })

    it('an address is a sender in one op or an entity in another, never both', async () => {
      const { pool } = newPool()
      const pm = addr(50)
      await pool.addOp(EP, op(addr(1), 0n, 1n, 1n, { paymaster: pm, paymasterData: '0x' }))
      const err = await rejection(pool.addOp(EP, op(pm, 0n, 1n, 1n)))
      expect(err.message).toMatch(/used as a factory, paymaster or aggregator/)
      await pool.addOp(EP, op(addr(2), 0n, 1n, 1n))
      await rejection(pool.addOp(EP, op(addr(3), 0n, 1n, 1n, { paymaster: addr(2) })))
    })
  })

  describe('reputation at admission', () => {
    it('rejects a banned entity with -32504 and limits a throttled one to 4 ops', async () => {
      const { pool, validator } = newPool()
      const pm = addr(60)
      validator.staked.add(pm.toLowerCase())
      // 1000 seen / 10 = 100 expected included; 40 + 50 slack < 100 → banned
      await pool.setReputation(EP, [{ address: pm, opsSeen: 1000, opsIncluded: 40 }])
      const banned = await rejection(pool.addOp(EP, op(addr(1), 0n, 1n, 1n, { paymaster: pm })))
      expect(banned.code).toBe(RpcCode.BannedOrThrottled)
      expect(banned.message).toMatch(/paymaster .* is banned/)

      // 100 expected, 80 + 10 < 100 ≤ 80 + 50 → throttled
      await pool.setReputation(EP, [{ address: pm, opsSeen: 1000, opsIncluded: 80 }])
      expect((await pool.dumpReputation(EP)).find((r) => r.address === pm)?.status).toBe('throttled')
      for (let i = 1; i <= 4; i++) await pool.addOp(EP, op(addr(i), 0n, 1n, 1n, { paymaster: pm }))
      const throttled = await rejection(pool.addOp(EP, op(addr(5), 0n, 1n, 1n, { paymaster: pm })))
      expect(throttled.code).toBe(RpcCode.BannedOrThrottled)
      expect(throttled.message).toMatch(/throttled/)
    })

    it('limits an unstaked paymaster to SAME_UNSTAKED_ENTITY_MEMPOOL_COUNT ops; a staked one is not', async () => {
      const { pool, validator } = newPool()
      const pm = addr(70)
      for (let i = 1; i <= 10; i++) await pool.addOp(EP, op(addr(i), 0n, 1n, 1n, { paymaster: pm }))
      const err = await rejection(pool.addOp(EP, op(addr(11), 0n, 1n, 1n, { paymaster: pm })))
      expect(err.code).toBe(RpcCode.BannedOrThrottled)
      expect(err.message).toMatch(/unstaked paymaster .* 10 ops/)
      const staked = addr(71)
      validator.staked.add(staked.toLowerCase())
      for (let i = 20; i <= 35; i++) await pool.addOp(EP, op(addr(i), 0n, 1n, 1n, { paymaster: staked }))
      // opsSeen counted per admitted op and per entity.
      expect((await pool.dumpReputation(EP)).find((r) => r.address === staked)?.opsSeen).toBe(16)
    })

    it('drops ops of a throttled entity after THROTTLED_ENTITY_LIVE_BLOCKS blocks', async () => {
      const { pool } = newPool({ reputation: { throttledEntityLiveBlocks: 3 } })
      const start = block(1n)
      await pool.processBlock(start)
      const pm = addr(75)
      const h = await pool.addOp(EP, op(addr(1), 0n, 1n, 1n, { paymaster: pm }))
      const other = await pool.addOp(EP, op(addr(2), 0n, 1n, 1n))
      await pool.setReputation(EP, [{ address: pm, opsSeen: 1000, opsIncluded: 80 }]) // throttled
      await pool.processBlock(block(1n))
      await pool.processBlock(block(1n))
      expect(await pool.getOp(h)).toBeDefined() // 2 blocks after admission
      await pool.processBlock(block(1n))
      expect(await pool.getOp(h)).toBeUndefined() // 3 blocks
      expect(await pool.getOp(other)).toBeDefined()
    })

    it('honours the allow and block lists', async () => {
      const { pool } = newPool({ reputation: { blocklist: [addr(80)], allowlist: [addr(81)] } })
      expect((await rejection(pool.addOp(EP, op(addr(80), 0n, 1n, 1n)))).code).toBe(RpcCode.BannedOrThrottled)
      await pool.setReputation(EP, [{ address: addr(81), opsSeen: 100_000, opsIncluded: 0 }])
      for (let i = 1; i <= 12; i++) await pool.addOp(EP, op(addr(i), 0n, 1n, 1n, { paymaster: addr(81) }))
    })

    it('applies the builder penalties: a staked invalidation bans and removes the entity’s ops', async () => {
      const { pool, validator } = newPool()
      const pm = addr(90)
      validator.staked.add(pm.toLowerCase())
      const h = await pool.addOp(EP, op(addr(1), 0n, 1n, 1n, { paymaster: pm }))
      const other = await pool.addOp(EP, op(addr(2), 0n, 1n, 1n))
      await pool.updateEntities(EP, [
        { entity: { kind: 'paymaster', address: pm }, kind: 'staked_invalidation' },
      ])
      expect(await pool.getOp(h)).toBeUndefined()
      expect(await pool.getOp(other)).toBeDefined()
      expect((await pool.dumpReputation(EP)).find((r) => r.address === pm)).toMatchObject({
        opsSeen: 10_000,
        opsIncluded: 0,
        status: 'banned',
      })
      await rejection(pool.addOp(EP, op(addr(3), 0n, 1n, 1n, { paymaster: pm })))

      const pm2 = addr(91)
      await pool.addOp(EP, op(addr(4), 0n, 1n, 1n, { paymaster: pm2 }))
      await pool.updateEntities(EP, [
        { entity: { kind: 'paymaster', address: pm2 }, kind: 'paymaster_ops_seen_decrement' },
      ])
      expect((await pool.dumpReputation(EP)).find((r) => r.address === pm2)?.opsSeen).toBe(0)
      await pool.updateEntities(EP, [
        { entity: { kind: 'paymaster', address: pm2 }, kind: 'unstaked_invalidation' },
      ])
      expect((await pool.dumpMempool(EP)).some((p) => p.op.paymaster === pm2)).toBe(false)
      expect((await pool.dumpReputation(EP)).find((r) => r.address === pm2)?.opsSeen).toBe(1000)

      await pool.clearState()
      expect(await pool.dumpMempool(EP)).toEqual([])
      expect(await pool.dumpReputation(EP)).toEqual([])
    })
  })

  describe('shards', () => {
    it('partition the pool: pairwise disjoint, union is the pool, each by uint256(sender) mod N (property)', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 7 }),
          fc.array(
            fc.tuple(fc.bigInt({ min: 1n, max: (1n << 160n) - 1n }), fc.bigInt({ min: 0n, max: 50n })),
            {
              maxLength: 60,
            },
          ),
          async (numShards, specs) => {
            const { pool } = newPool({ numShards, maxOpsPerUnstakedSender: 100 })
            let nonce = 0n
            for (const [s, prio] of specs) await pool.addOp(EP, op(addr(s), nonce++, prio, prio + 10n))
            const all = new Set(hashesOf(await pool.dumpMempool(EP)))
            const seen = new Set<Hash>()
            for (let i = 0; i < numShards; i++) {
              const shard = await pool.getOps({ entryPoint: EP, maxOps: 1000, shardIndex: i })
              for (const p of shard) {
                expect(seen.has(p.hash)).toBe(false)
                seen.add(p.hash)
                expect(shardOf(p.op.sender, numShards)).toBe(i)
                expect(BigInt(p.op.sender) % BigInt(numShards)).toBe(BigInt(i))
              }
            }
            expect(seen).toEqual(all)
          },
        ),
        { numRuns: 60 },
      )
    })
  })
})
