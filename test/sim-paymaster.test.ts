import type { Address } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chainSpecFor } from '../src/chain/chain-spec.js'
import { ENTRY_POINT_VERSIONS, type EntryPointVersion } from '../src/chain/entrypoint.js'
import type { UserOperation } from '../src/chain/userop.js'
import { defaultSimSettings } from '../src/sim/settings.js'
import { Simulator } from '../src/sim/simulator.js'
import { RpcCode, RpcError } from '../src/util/errors.js'
import { buildOp, newOwner, signUserOp } from './harness/account.js'
import { bundleOps } from './harness/bundle.js'
import { startTestChain, type TestChain } from './harness/chain.js'
import { deployVerifyingPaymaster, withVerifyingPaymaster } from './harness/paymaster.js'

let chain: TestChain
let simulator: Simulator
const pmSigner = newOwner()
const paymasters = {} as Record<EntryPointVersion, Address>
const broke = {} as Record<EntryPointVersion, Address>

beforeAll(async () => {
  chain = await startTestChain()
  simulator = new Simulator({
    client: chain.client,
    settings: defaultSimSettings(chainSpecFor(chain.chainId)),
  })
  for (const v of ENTRY_POINT_VERSIONS) {
    paymasters[v] = await deployVerifyingPaymaster(chain, v, pmSigner.address)
    broke[v] = await deployVerifyingPaymaster(chain, v, pmSigner.address, 0n)
  }
})
afterAll(async () => {
  await chain?.stop()
})

async function nowSec(): Promise<number> {
  const block = await chain.client.getBlock()
  return Math.max(Number(block.timestamp), Math.floor(Date.now() / 1000))
}

/** A sponsored op: the account signs after the paymaster fields are set (its hash covers them). */
async function sponsored(
  version: EntryPointVersion,
  window: { validUntil?: number; validAfter?: number } = {},
  opts: { paymaster?: Address; paymasterSigner?: typeof pmSigner } = {},
): Promise<UserOperation> {
  const owner = newOwner()
  const { op } = await buildOp(chain, version, {
    owner,
    sign: false,
    fund: false,
    overrides: { preVerificationGas: 100_000n },
  })
  const withPm = await withVerifyingPaymaster(
    chain,
    op,
    opts.paymaster ?? paymasters[version],
    opts.paymasterSigner ?? pmSigner,
    window,
  )
  return { ...withPm, signature: await signUserOp(chain, version, withPm, owner) }
}

async function rejection(p: Promise<unknown>): Promise<RpcError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(RpcError)
  return err as RpcError
}

describe.each(ENTRY_POINT_VERSIONS)('paymaster validation %s', (version) => {
  const ep = () => chain.deployment.entryPoints[version]

  it('accepts a sponsored op with a time window and records it, with the paymaster stake info', async () => {
    const now = await nowSec()
    const op = await sponsored(version, { validUntil: now + 3600, validAfter: now - 60 })
    const r = await simulator.validate(ep(), op)
    expect(r.validUntil).toBe(BigInt(now + 3600))
    expect(r.validAfter).toBe(BigInt(now - 60))
    expect(r.paymaster).toEqual({
      address: paymasters[version],
      stake: 0n,
      unstakeDelaySec: 0n,
      isStaked: false,
    })
    expect(r.paymasterSigFailed).toBe(false)
    expect(r.codeHashes[paymasters[version]]).toMatch(/^0x[0-9a-f]{64}$/)
    expect(r.prefund).toBeGreaterThan(0n)
    // And it really lands (the sender holds no ETH: the paymaster pays).
    const mined = await bundleOps(chain, version, [op])
    expect(mined.events[0]?.success).toBe(true)
    expect(mined.events[0]?.paymaster).toBe(paymasters[version])
  })

  it('rejects an expired op with -32503', async () => {
    const now = await nowSec()
    const err = await rejection(simulator.validate(ep(), await sponsored(version, { validUntil: now - 10 })))
    expect(err.code).toBe(RpcCode.ShortDeadline)
    expect(err.message).toMatch(/expired/)
  })

  it('rejects an op expiring within 30 s with -32503', async () => {
    const now = await nowSec()
    const err = await rejection(simulator.validate(ep(), await sponsored(version, { validUntil: now + 20 })))
    expect(err.code).toBe(RpcCode.ShortDeadline)
    expect(err.message).toMatch(/within 30 s/)
  })

  it('rejects a not-yet-valid op with -32503', async () => {
    const now = await nowSec()
    const err = await rejection(simulator.validate(ep(), await sponsored(version, { validAfter: now + 600 })))
    expect(err.code).toBe(RpcCode.ShortDeadline)
    expect(err.message).toMatch(/not valid until/)
  })

  it('rejects a paymaster signature by the wrong key with -32507', async () => {
    const err = await rejection(
      simulator.validate(ep(), await sponsored(version, {}, { paymasterSigner: newOwner() })),
    )
    expect(err.code).toBe(RpcCode.InvalidSignature)
    expect(err.message).toMatch(/paymaster signature/)
  })

  it('rejects a paymaster whose deposit is too low with -32508 (AA31)', async () => {
    const err = await rejection(
      simulator.validate(ep(), await sponsored(version, {}, { paymaster: broke[version] })),
    )
    expect(err.code).toBe(RpcCode.PaymasterDepositTooLow)
    expect(err.message).toMatch(/AA31 paymaster deposit too low/)
  })

  it('rejects a paymaster reverting in validation with -32501 (AA33)', async () => {
    const op = await sponsored(version)
    // VerifyingPaymaster requires 64 or 65 signature bytes: a short paymasterData makes it revert.
    const err = await rejection(simulator.validate(ep(), { ...op, paymasterData: '0x1234' }))
    expect(err.code).toBe(RpcCode.RejectedByPaymaster)
    expect(err.message).toMatch(/AA33/)
  })
})
