import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chainSpecFor } from '../src/chain/chain-spec.js'
import { ENTRY_POINT_VERSIONS, type EntryPointVersion } from '../src/chain/entrypoint.js'
import { Erc7562RuleChecker } from '../src/sim/rules/checker.js'
import { defaultSimSettings } from '../src/sim/settings.js'
import { Simulator } from '../src/sim/simulator.js'
import { RpcError } from '../src/util/errors.js'
import { startTestChain, type TestChain } from './harness/chain.js'
import { type Accounts, RULE_CASES } from './support/rules-cases.js'
import {
  deployedAccount,
  deployRulesEnv,
  MIN_STAKE,
  MIN_UNSTAKE_DELAY,
  type RulesEnv,
  rulesOp,
} from './support/rules-env.js'
import { type PathRig, startTracingPaths, TRACING_PATHS, type TracingPath } from './support/tracing-paths.js'

/**
 * The ERC-7562 rule table through admission on a real anvil, once per tracing path (js, and native
 * behind a proxy that refuses JS tracers; see tracing-paths.ts): the Rules* contracts perform each
 * action in validation, the Simulator traces and applies the rules. Allowed variants must be
 * admitted; forbidden ones rejected with the right code, rule and entity, on every path alike.
 */
let chain: TestChain
let paths: Record<TracingPath, PathRig>
let stopPaths: () => Promise<void>
const envs = {} as Record<EntryPointVersion, { env: RulesEnv; accounts: Accounts }>

beforeAll(async () => {
  chain = await startTestChain()
  ;({ paths, stop: stopPaths } = await startTracingPaths(chain))
  for (const v of ENTRY_POINT_VERSIONS) {
    const env = await deployRulesEnv(chain, v)
    envs[v] = {
      env,
      accounts: { unstaked: await deployedAccount(env), staked: await deployedAccount(env, true) },
    }
  }
}, 120_000)
afterAll(async () => {
  await stopPaths?.()
  await chain?.stop()
})

function simulator(path: TracingPath): Simulator {
  const settings = defaultSimSettings(chainSpecFor(chain.chainId), {
    minStakeValue: MIN_STAKE,
    minUnstakeDelaySec: BigInt(MIN_UNSTAKE_DELAY),
  })
  return new Simulator({
    client: paths[path].client,
    settings,
    tracer: paths[path].tracer,
    ruleChecker: new Erc7562RuleChecker({
      minStakeValue: MIN_STAKE,
      minUnstakeDelaySec: BigInt(MIN_UNSTAKE_DELAY),
    }),
  })
}

it('has at least 60 cases, each rule with a forbidden and (where the spec has one) an allowed variant', () => {
  expect(RULE_CASES.length).toBeGreaterThanOrEqual(60)
  const rules = new Set(RULE_CASES.map((c) => c.rule))
  for (const rule of [
    'OP-011',
    'OP-012',
    'OP-020',
    'OP-031',
    'OP-041',
    'OP-052',
    'OP-053',
    'OP-054',
    'OP-061',
    'OP-062',
    'OP-070',
    'OP-080',
    'STO-021',
    'STO-022',
    'STO-031',
    'STO-032',
    'STO-033',
    'SREP-010',
  ])
    expect(rules.has(rule), rule).toBe(true)
  for (const rule of [
    'OP-012',
    'OP-020',
    'OP-031',
    'OP-041',
    'OP-052',
    'OP-053',
    'OP-061',
    'OP-062',
    'OP-070',
    'OP-080',
    'STO-021',
    'STO-022',
    'STO-031',
    'STO-032',
    'STO-033',
  ]) {
    const cases = RULE_CASES.filter((c) => c.rule === rule)
    expect(
      cases.some((c) => c.expect.ok),
      `${rule} allowed`,
    ).toBe(true)
    expect(
      cases.some((c) => !c.expect.ok),
      `${rule} forbidden`,
    ).toBe(true)
  }
})

const PATHS = ENTRY_POINT_VERSIONS.flatMap((v) => TRACING_PATHS.map((p) => [v, p] as const))

describe.each(PATHS)('rule table %s, %s tracing', (version, path) => {
  it.each(
    RULE_CASES.map((c) => [`${c.rule} ${c.name} → ${c.expect.ok ? 'admitted' : 'rejected'}`, c] as const),
  )(
    '%s',
    async (_name, c) => {
      const { env, accounts } = envs[version]
      const op = await rulesOp(env, await c.build(env, accounts))
      const outcome = await simulator(path)
        .validate(env.entryPoint, op)
        .then(
          () => undefined,
          (e: unknown) => e,
        )
      if (c.expect.ok) {
        expect(outcome).toBeUndefined()
        return
      }
      expect(outcome).toBeInstanceOf(RpcError)
      const err = outcome as RpcError
      const data = err.data as { rule: string; entity: { kind: string; address: string } }
      expect({ code: err.code, rule: data?.rule, kind: data?.entity?.kind }, err.message).toEqual({
        code: c.expect.code,
        rule: c.expect.rule,
        kind: c.expect.entity,
      })
      const entity =
        c.expect.entity === 'account' ? op.sender : c.expect.entity === 'factory' ? op.factory : op.paymaster
      expect(data.entity.address.toLowerCase()).toBe(entity?.toLowerCase())
      expect(err.message).toContain(c.expect.rule)
      if (c.expect.text) expect(err.message).toContain(c.expect.text)
    },
    30_000,
  )
})
