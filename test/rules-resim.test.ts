import { keccak256, numberToHex, pad } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BundleProposer, DEFAULT_PROPOSER_SETTINGS } from '../src/builder/proposer.js'
import { chainSpecFor } from '../src/chain/chain-spec.js'
import { ENTRY_POINT_VERSIONS, type EntryPointVersion } from '../src/chain/entrypoint.js'
import { userOpHash } from '../src/chain/userop.js'
import type { PoolOp } from '../src/pool/types.js'
import { Erc7562RuleChecker } from '../src/sim/rules/checker.js'
import { defaultSimSettings } from '../src/sim/settings.js'
import { Simulator } from '../src/sim/simulator.js'
import { newOwner } from './harness/account.js'
import { startTestChain, type TestChain } from './harness/chain.js'
import { ListPool } from './support/list-pool.js'
import { Kind } from './support/rules-actions.js'
import {
  deployedAccount,
  deployRulesEnv,
  MIN_STAKE,
  MIN_UNSTAKE_DELAY,
  type RulesEnv,
  rulesOp,
} from './support/rules-env.js'
import { type PathRig, startTracingPaths, TRACING_PATHS, type TracingPath } from './support/tracing-paths.js'

let chain: TestChain
let paths: Record<TracingPath, PathRig>
let stopPaths: () => Promise<void>
beforeAll(async () => {
  chain = await startTestChain()
  ;({ paths, stop: stopPaths } = await startTracingPaths(chain))
}, 60_000)
afterAll(async () => {
  await stopPaths?.()
  await chain?.stop()
})
const CASES = ENTRY_POINT_VERSIONS.flatMap((v) => TRACING_PATHS.map((p) => [v, p] as const))

describe.each(CASES)('second simulation, %s, %s tracing', (version: EntryPointVersion, path: TracingPath) => {
  let env: RulesEnv
  beforeAll(async () => {
    env = await deployRulesEnv(chain, version)
  }, 60_000)

  function simulator() {
    const settings = defaultSimSettings(chainSpecFor(chain.chainId), {
      minStakeValue: MIN_STAKE,
      minUnstakeDelaySec: BigInt(MIN_UNSTAKE_DELAY),
    })
    return new Simulator({
      client: paths[path].client,
      settings,
      tracer: paths[path].tracer,
      ruleChecker: new Erc7562RuleChecker(),
    })
  }

  it('drops an op whose account code changed and one whose validation now reads a forbidden slot', async () => {
    const sim = simulator()
    const changed = await deployedAccount(env)
    const switched = await deployedAccount(env)
    const SWITCH_SLOT = 9n
    const ops = [
      await rulesOp(env, { sender: changed }),
      await rulesOp(env, {
        sender: switched,
        account: { kind: Kind.STATE_SWITCH, target: env.store, arg: SWITCH_SLOT },
      }),
    ]
    // Admission: both pass the tracer and the rules, and record the account's code hash.
    const pooled: PoolOp[] = []
    for (const [i, op] of ops.entries()) {
      const validation = await sim.validate(env.entryPoint, op)
      const code = await chain.client.getCode({ address: op.sender })
      expect(validation.codeHashes[op.sender]).toBe(keccak256(code ?? '0x'))
      pooled.push({
        hash: userOpHash(op, env.entryPoint, chain.chainId, version),
        entryPoint: env.entryPoint,
        op,
        seq: i,
        validation,
      })
    }

    // After admission: one account's code changes, the other's validation flips to a forbidden read.
    const code = (await chain.client.getCode({ address: changed })) as `0x${string}`
    await chain.client.request({ method: 'anvil_setCode' as never, params: [changed, `${code}00`] as never })
    await chain.client.request({
      method: 'anvil_setStorageAt' as never,
      params: [switched, pad(numberToHex(SWITCH_SLOT), { size: 32 }), pad('0x01', { size: 32 })] as never,
    })
    await chain.client.request({ method: 'evm_mine' as never, params: [] as never })

    const pool = new ListPool(pooled)
    const block = await chain.client.getBlock()
    const proposer = new BundleProposer({
      pool,
      validator: sim,
      fees: {
        estimate: async () => ({
          baseFee: block.baseFeePerGas ?? 0n,
          priorityFee: 0n,
          blockNumber: block.number,
        }),
      },
      client: paths[path].client,
      chainSpec: chainSpecFor(chain.chainId),
      settings: DEFAULT_PROPOSER_SETTINGS,
    })
    const proposal = await proposer.propose({
      entryPoint: env.entryPoint,
      signer: newOwner().address,
      shardIndex: 0,
    })

    expect(proposal.kind).toBe('none')
    const reasons = Object.fromEntries(proposal.rejected.map((r) => [r.hash, r.reason]))
    expect(reasons[pooled[0]!.hash]).toMatch(/code of .* changed since admission/i)
    expect(reasons[pooled[1]!.hash]).toMatch(/STO-033/)
    expect(reasons[pooled[1]!.hash]).toContain(
      'slot 0x000000000000000000000000000000000000000000000000000000000000004d',
    )
    expect(pool.removed.sort()).toEqual(pooled.map((p) => p.hash).sort())
    expect(pool.ops).toEqual([])
  }, 60_000)
})
