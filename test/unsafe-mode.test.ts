import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chainSpecFor } from '../src/chain/chain-spec.js'
import { LocalPool } from '../src/pool/pool.js'
import { defaultSimSettings } from '../src/sim/settings.js'
import { Simulator } from '../src/sim/simulator.js'
import { createValidationMode, UNSAFE_KEEPS, UNSAFE_SKIPS } from '../src/sim/tracer/mode.js'
import { RpcCode, RpcError } from '../src/util/errors.js'
import { startTestChain, type TestChain } from './harness/chain.js'
import { capturedLogger } from './support/relay-bundle.js'
import { Kind } from './support/rules-actions.js'
import {
  deployedAccount,
  deployRulesEnv,
  MIN_STAKE,
  MIN_UNSTAKE_DELAY,
  type RulesEnv,
  rulesOp,
} from './support/rules-env.js'

/**
 * `--unsafe` on a real anvil: its start-up warning names exactly what is off and what still applies,
 * and both halves hold: an op using a banned opcode is admitted, while the unstaked-entity
 * allowance still refuses a paymaster's op over its limit.
 */
let chain: TestChain
let env: RulesEnv

beforeAll(async () => {
  chain = await startTestChain()
  env = await deployRulesEnv(chain, 'v0.7')
}, 120_000)
afterAll(async () => {
  await chain?.stop()
})

async function poolIn(unsafe: boolean) {
  const { logger, lines } = capturedLogger()
  const mode = await createValidationMode({
    unsafe,
    client: chain.client,
    logger,
    rules: { minStakeValue: MIN_STAKE, minUnstakeDelaySec: BigInt(MIN_UNSTAKE_DELAY) },
  })
  const settings = defaultSimSettings(chainSpecFor(chain.chainId), {
    minStakeValue: MIN_STAKE,
    minUnstakeDelaySec: BigInt(MIN_UNSTAKE_DELAY),
  })
  const pool = new LocalPool({
    settings: {
      chainId: chain.chainId,
      blockPollIntervalMs: 50,
      minStakeValue: MIN_STAKE,
      minUnstakeDelaySec: BigInt(MIN_UNSTAKE_DELAY),
      reputation: { sameUnstakedEntityMempoolCount: 1 },
    },
    client: chain.client,
    validator: new Simulator({ client: chain.client, settings, ...mode }),
    entryPoints: [env.entryPoint],
  })
  await pool.start()
  return { pool, lines }
}

/** A deployed account whose validation reads TIMESTAMP (OP-011), paid by the unstaked paymaster. */
async function bannedOpcodeOp() {
  const sender = await deployedAccount(env)
  return rulesOp(env, {
    sender,
    account: { kind: Kind.TIMESTAMP },
    paymaster: { address: env.paymaster.unstaked },
  })
}

describe('--unsafe', () => {
  it('warns naming what is not checked and what still is', async () => {
    const { pool, lines } = await poolIn(true)
    await pool.stop()
    const warning = lines.map((l) => JSON.parse(l)).find((l) => l.unsafe === true)
    expect(warning?.level).toBe(40)
    for (const item of [...UNSAFE_SKIPS, ...UNSAFE_KEEPS]) expect(warning.msg).toContain(item)
    expect(warning.msg).toMatch(/NOT checked: banned opcodes/)
    expect(warning.msg).toMatch(/Still enforced: .*the unstaked-entity allowance/)
  })

  it('admits a banned opcode but still applies the unstaked-entity allowance; safe mode rejects the opcode', async () => {
    const first = await bannedOpcodeOp()
    const second = await bannedOpcodeOp()

    const safe = await poolIn(false)
    try {
      const err = await safe.pool.addOp(env.entryPoint, first).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(RpcError)
      expect((err as RpcError).code).toBe(RpcCode.BannedOpcode)
    } finally {
      await safe.pool.stop()
    }

    const unsafe = await poolIn(true)
    try {
      await unsafe.pool.addOp(env.entryPoint, first) // OP-011 is not checked
      const err = await unsafe.pool.addOp(env.entryPoint, second).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(RpcError)
      expect((err as RpcError).code).toBe(RpcCode.BannedOrThrottled)
      expect((err as RpcError).message).toMatch(/unstaked paymaster .* \(allowed 1\)/)
    } finally {
      await unsafe.pool.stop()
    }
  })
})
