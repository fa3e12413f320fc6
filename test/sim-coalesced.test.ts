import type { PublicClient } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chainSpecFor } from '../src/chain/chain-spec.js'
import { ENTRY_POINT_VERSIONS, type EntryPointVersion } from '../src/chain/entrypoint.js'
import type { UserOperation } from '../src/chain/userop.js'
import { BlockReads } from '../src/sim/precheck-state.js'
import { defaultSimSettings, type SimSettings } from '../src/sim/settings.js'
import { Simulator } from '../src/sim/simulator.js'
import { RpcError } from '../src/util/errors.js'
import { buildOp, newOwner } from './harness/account.js'
import { startTestChain, type TestChain } from './harness/chain.js'

let chain: TestChain
let settings: SimSettings

beforeAll(async () => {
  chain = await startTestChain()
  settings = defaultSimSettings(chainSpecFor(chain.chainId))
})
afterAll(async () => {
  await chain?.stop()
})

/** The chain's client with its simulation calls counted (they go through `request`). */
function counting(): { client: PublicClient; ethCalls: () => number } {
  let calls = 0
  const client = {
    ...chain.client,
    request: (args: { method: string }) => {
      if (args.method === 'eth_call') calls += 1
      return chain.client.request(args as never)
    },
  } as unknown as PublicClient
  return { client, ethCalls: () => calls }
}

/** What an admission gave: the result's fields that matter, or the rejection's code and message. */
async function verdict(p: Promise<unknown>): Promise<unknown> {
  try {
    const r = (await p) as {
      preOpGas: bigint
      prefund: bigint
      accountSigFailed: boolean
      accessedStorage: Record<string, unknown>
    }
    return {
      ok: true,
      preOpGas: r.preOpGas,
      prefund: r.prefund,
      sigFailed: r.accountSigFailed,
      storage: JSON.stringify(r.accessedStorage),
    }
  } catch (e) {
    if (!(e instanceof RpcError)) throw e
    return { ok: false, code: e.code, message: e.message }
  }
}

/** Valid ops beside an unsigned one (-32507) and one whose verification gas is too short to deploy
 * its account (a revert of its own): neither may change its neighbours' verdicts. */
function mixedOps(version: EntryPointVersion): Promise<UserOperation[]> {
  const build = (sign: boolean, over: Partial<UserOperation> = {}) =>
    buildOp(chain, version, {
      owner: newOwner(),
      sign,
      overrides: { preVerificationGas: 100_000n, ...over },
    }).then((b) => b.op)
  return Promise.all([
    build(true),
    build(false),
    build(true),
    build(true, { verificationGasLimit: 60_000n }),
    build(true),
  ])
}

describe.each(ENTRY_POINT_VERSIONS)('admissions at one block, joined (%s)', (version: EntryPointVersion) => {
  it('give every op the verdict it gets alone, in one eth_call instead of one per op', async () => {
    const ep = chain.deployment.entryPoints[version]
    const ops = await mixedOps(version)
    const head = await chain.client.getBlockNumber({ cacheTime: 0 })

    // One set of chain reads for both runs, warm after the first: the joined admissions then reach
    // their simulation in the same turn of the event loop (in service, reads arriving apart split
    // a moment's admissions into a few joined calls).
    const reads = new BlockReads(chain.client)
    const alone = counting()
    const aloneSim = new Simulator({ client: alone.client, settings })
    const solo: unknown[] = []
    for (const op of ops)
      solo.push(await verdict(aloneSim.validate(ep, op, { blockNumber: head, precheck: true, reads })))
    expect(alone.ethCalls()).toBe(ops.length)

    const joined = counting()
    const joinedSim = new Simulator({ client: joined.client, settings })
    const together = await Promise.all(
      ops.map((op) => verdict(joinedSim.validate(ep, op, { blockNumber: head, precheck: true, reads }))),
    )
    expect(together).toEqual(solo)
    expect(joined.ethCalls()).toBe(1)
    expect(solo.filter((v) => (v as { ok: boolean }).ok)).toHaveLength(3)
  })
})
