import { type Address, getAddress, pad, toHex } from 'viem'
import { describe, expect, it } from 'vitest'
import { ENTRY_POINTS } from '../src/chain/entrypoint.js'
import type { UserOperation } from '../src/chain/userop.js'
import type { RedisPool } from '../src/pool/redis/redis-pool.js'
import type { EntryPointStore } from '../src/pool/redis/store.js'
import type { Validator } from '../src/sim/types.js'
import { admittedValidation, unstaked } from './support/fake-validation.js'
import { makePool, usePoolBackend } from './support/pool-backends.js'

// A base fee change moves ops between each shard's tip queue and fee queue in chunks (a script
// call each), so Redis is never held for a whole pool. On a real redis-server: after every call
// one boundary (m:base) splits the ops exactly, and the moves end at the target. The validator is
// a plain fake that admits everything (grouping is the pool's business, not validation's).

const EP = ENTRY_POINTS['v0.7'].address
const admitAll: Validator = {
  validate: async (_ep, op) => admittedValidation(unstaked(op.sender)),
}
const offline = { request: async () => [] } as never

/** Headrooms (maxFee − prio) of the ops, with ties: a tie never straddles the boundary. */
const HEADROOMS = [10, 20, 20, 20, 30, 40, 50, 50, 60, 70, 80, 90]

function op(i: number, headroom: number): UserOperation {
  return {
    sender: getAddress(pad(toHex(1000 + i), { size: 20 })) as Address,
    nonce: 0n,
    callData: '0x',
    callGasLimit: 100_000n,
    verificationGasLimit: 100_000n,
    preVerificationGas: 50_000n,
    maxFeePerGas: BigInt(headroom + 5),
    maxPriorityFeePerGas: 5n,
    signature: '0x',
  }
}

/** Which queue each op is in, against the boundary and each op's headroom. */
async function groups(store: EntryPointStore) {
  const { redis, prefix } = store
  const base = Number(await redis.get(`${prefix}:m:base`))
  const hr = await redis.zrange(`${prefix}:m:hr`, '0', '-1', 'WITHSCORES')
  const misplaced: string[] = []
  let inTipQueue = 0
  for (let i = 0; i < hr.length; i += 2) {
    const member = (hr[i] as string).split('|').slice(3).join('|')
    const inP = (await redis.zscore(`${prefix}:m:q:0:p`, member)) !== null
    const inF = (await redis.zscore(`${prefix}:m:q:0:f`, member)) !== null
    if (inP) inTipQueue++
    if (inP === inF || inP !== Number(hr[i + 1]) >= base) misplaced.push(`${hr[i + 1]}: p=${inP} f=${inF}`)
  }
  return { base, misplaced, inTipQueue }
}

describe('Redis pool: a base fee change in chunks', () => {
  usePoolBackend('redis')

  it('keeps one exact boundary after every call and ends at the target, up and down', async () => {
    const pool = makePool({
      settings: { chainId: 31337, numShards: 1 },
      client: offline,
      validator: admitAll,
      entryPoints: [EP],
    }) as RedisPool
    for (const [i, h] of HEADROOMS.entries()) await pool.addOp(EP, op(i, h))
    const store = (pool as unknown as { eps: Map<string, { store: EntryPointStore }> }).eps.get(
      EP.toLowerCase(),
    )?.store as EntryPointStore
    expect((await groups(store)).inTipQueue).toBe(HEADROOMS.length) // base fee 0: every op by tip

    for (const [target, inTipQueue] of [
      [100, 0],
      [0, HEADROOMS.length],
      [45, 6], // 50, 50, 60, 70, 80, 90
    ] as const) {
      const bases: number[] = []
      let done = Number(await store.run('conveyorPoolBaseFee', String(target), 2)) === 1
      for (let calls = 1; ; calls++) {
        const g = await groups(store)
        expect(g.misplaced, `after call ${calls} toward ${target}`).toEqual([])
        bases.push(g.base)
        if (done) break
        expect(calls).toBeLessThan(HEADROOMS.length) // every call moves at least one headroom
        done = Number(await store.run('conveyorPoolMoveBase', 2)) === 1
      }
      expect(bases.length).toBeGreaterThan(2) // it went in chunks
      expect(bases.at(-1)).toBe(target)
      expect((await groups(store)).inTipQueue).toBe(inTipQueue)
    }
    // The store's own loop gets there too, and a block's base fee does through applyBlock.
    await store.setBaseFee(95n, 3)
    expect(await groups(store)).toEqual({ base: 95, misplaced: [], inTipQueue: 0 })
  })
})
