import { type Address, keccak256, numberToHex, type PublicClient } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chainSpecFor } from '../src/chain/chain-spec.js'
import { ENTRY_POINT_VERSIONS, type EntryPointVersion, entryPointAbi } from '../src/chain/entrypoint.js'
import type { UserOperation } from '../src/chain/userop.js'
import { BlockReads } from '../src/sim/precheck-state.js'
import { defaultSimSettings, type SimSettings } from '../src/sim/settings.js'
import { Simulator } from '../src/sim/simulator.js'
import { RpcCode, RpcError } from '../src/util/errors.js'
import { buildOp, newOwner } from './harness/account.js'
import { bundleOps } from './harness/bundle.js'
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

function simulator(over: Partial<SimSettings> = {}): Simulator {
  return new Simulator({ client: chain.client, settings: { ...settings, ...over } })
}

/**
 * The harness prices preVerificationGas before signing, so the real signature's bytes can make it a
 * few gas short of the precheck's rule: give room (the precheck itself is covered in sim-precheck).
 */
const PVG = 100_000n
function build(version: EntryPointVersion, params: Parameters<typeof buildOp>[2]) {
  return buildOp(chain, version, { ...params, overrides: { preVerificationGas: PVG, ...params.overrides } })
}

async function rejection(p: Promise<unknown>): Promise<RpcError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(RpcError)
  return err as RpcError
}

describe.each(ENTRY_POINT_VERSIONS)('Simulator %s', (version: EntryPointVersion) => {
  const ep = () => chain.deployment.entryPoints[version]

  it('accepts a valid first op (with factory) and reports what the builder re-checks', async () => {
    const owner = newOwner()
    const { op, sender } = await build(version, { owner })
    const head = await chain.client.getBlock()
    const r = await simulator().validate(ep(), op)
    expect(r.blockNumber).toBe(head.number)
    expect(r.blockHash).toBe(head.hash)
    expect(r.accountSigFailed).toBe(false)
    expect(r.paymasterSigFailed).toBe(false)
    expect(r.validUntil).toBe(0n)
    expect(r.validAfter).toBe(0n)
    expect(r.sender).toEqual({ address: sender, stake: 0n, unstakeDelaySec: 0n, isStaked: false })
    expect(r.factory?.address).toBe(chain.deployment.factories[version])
    expect(r.factory?.isStaked).toBe(false)
    expect(r.paymaster).toBeUndefined()
    expect(r.aggregator).toBeUndefined()
    expect(r.prefund).toBe(
      (op.preVerificationGas + op.verificationGasLimit + op.callGasLimit) * op.maxFeePerGas,
    )
    expect(r.preOpGas).toBeGreaterThan(op.preVerificationGas + 100_000n) // deployment happened
    const factoryCode = await chain.client.getCode({ address: chain.deployment.factories[version] })
    expect(r.codeHashes[chain.deployment.factories[version]]).toBe(keccak256(factoryCode!))
    expect(r.codeHashes[sender]).toBe(keccak256('0x'))
    expect(r.accessedStorage).toEqual({})
  })

  it('accepts an op from a deployed account, pinned at a given block', async () => {
    const owner = newOwner()
    const first = await build(version, { owner })
    const mined = await bundleOps(chain, version, [first.op])
    expect(mined.events[0]?.success).toBe(true)
    const { op, sender } = await build(version, { owner })
    expect(op.factory).toBeUndefined()
    const at = await chain.client.getBlockNumber({ cacheTime: 0 })
    const r = await simulator().validate(ep(), op, { blockNumber: at })
    expect(r.blockNumber).toBe(at)
    const code = await chain.client.getCode({ address: sender })
    expect(r.codeHashes[sender]).toBe(keccak256(code!))
    expect(r.factory).toBeUndefined()
  })

  it('reports stake infos against the configured minimums', async () => {
    const owner = newOwner()
    const first = await build(version, { owner })
    expect((await bundleOps(chain, version, [first.op])).events[0]?.success).toBe(true)
    // The account stakes 2 ETH for 1 day: staked under 1 ETH/1 day, not under 3 ETH.
    const { op, sender } = await build(version, { owner })
    await chain.client.request({ method: 'anvil_impersonateAccount' as never, params: [sender] as never })
    const { createWalletClient, http, encodeFunctionData } = await import('viem')
    const wallet = createWalletClient({ transport: http(chain.url), account: sender })
    const hash = await wallet.sendTransaction({
      chain: null,
      to: ep(),
      value: 2n * 10n ** 18n,
      data: encodeFunctionData({ abi: entryPointAbi(version), functionName: 'addStake', args: [86_400] }),
    })
    await chain.client.waitForTransactionReceipt({ hash })
    await chain.client.request({
      method: 'anvil_stopImpersonatingAccount' as never,
      params: [sender] as never,
    })
    const staked = await simulator({ minStakeValue: 10n ** 18n, minUnstakeDelaySec: 86_400n }).validate(
      ep(),
      op,
    )
    expect(staked.sender).toEqual({
      address: sender,
      stake: 2n * 10n ** 18n,
      unstakeDelaySec: 86_400n,
      isStaked: true,
    })
    const notStaked = await simulator({ minStakeValue: 3n * 10n ** 18n }).validate(ep(), op)
    expect(notStaked.sender.isStaked).toBe(false)
  })

  it('rejects a bad account signature with -32507', async () => {
    const { op } = await build(version, { owner: newOwner(), sign: false })
    const err = await rejection(simulator().validate(ep(), op))
    expect(err.code).toBe(RpcCode.InvalidSignature)
    expect(err.message).toMatch(/signature/)
  })

  it('rejects a sender that cannot pay its prefund with -32508 (AA21)', async () => {
    const { op, sender } = await build(version, { owner: newOwner(), fund: false })
    expect(await chain.client.getBalance({ address: sender })).toBe(0n)
    const err = await rejection(simulator().validate(ep(), op))
    expect(err.code).toBe(RpcCode.PaymasterDepositTooLow)
    expect(err.message).toMatch(/AA21/)
  })

  it('rejects a wrong nonce with -32500 and the reason', async () => {
    const { op } = await build(version, { owner: newOwner(), nonce: 5n })
    const err = await rejection(simulator().validate(ep(), op))
    expect(err.code).toBe(RpcCode.RejectedByEpOrAccount)
    expect(err.message).toMatch(/AA25 invalid account nonce/)
  })

  it('rejects an unknown entry point with -32602', async () => {
    const { op } = await build(version, { owner: newOwner() })
    const err = await rejection(
      simulator().validate('0x000000000000000000000000000000000000dEaD' as Address, op),
    )
    expect(err.code).toBe(RpcCode.InvalidParams)
  })

  it('funding a sender makes the same op valid (the AA21 rejection was about funds)', async () => {
    const { op, sender } = await build(version, { owner: newOwner(), fund: false })
    await chain.client.request({
      method: 'anvil_setBalance' as never,
      params: [sender, numberToHex(10n ** 18n)] as never,
    })
    const r = await simulator().validate(ep(), op)
    expect(r.accountSigFailed).toBe(false)
  })
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
