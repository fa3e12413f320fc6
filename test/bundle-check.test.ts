/**
 * The proposer's whole-bundle handleOps eth_call loop on anvil: ops that pass their own second
 * simulation but fail inside the bundle (one account's validation closes a gate another's reads,
 * contracts/src/BundleCheckTest.sol), a revert that names no op (v0.7), the bound on eth_calls,
 * and a node failure half-way. Every handleOps eth_call is counted on the wire by a tap.
 */
import {
  type Address,
  encodeErrorResult,
  encodeFunctionData,
  type Hash,
  numberToHex,
  parseAbi,
  toFunctionSelector,
} from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bundleOps } from '../src/builder/bundle.js'
import { BUNDLE_ABI } from '../src/chain/bundle-calldata.js'
import { chainSpecFor } from '../src/chain/chain-spec.js'
import type { EntryPointVersion } from '../src/chain/entrypoint.js'
import { requiredPreVerificationGas } from '../src/chain/gas.js'
import type { UserOperation } from '../src/chain/userop.js'
import { buildOp, newOwner } from './harness/account.js'
import { startTestChain, type TestChain } from './harness/chain.js'
import { type BuilderRig, startBuilderRig } from './support/builder-rig.js'
import { TestDeployer, testArtifact } from './support/contracts.js'
import { rpcError } from './support/relay-server.js'
import { callSelector, type RpcTap, startRpcTap } from './support/rpc-tap.js'
import { waitFor } from './support/wait.js'

const GWEI = 10n ** 9n
const FAILED_OP_ABI = parseAbi(['error FailedOp(uint256 opIndex, string reason)'])
const HANDLE_OPS = new Set(BUNDLE_ABI.map((f) => toFunctionSelector(f).toLowerCase()))
const fees = (tip: bigint) => ({ maxFeePerGas: 100n * GWEI, maxPriorityFeePerGas: tip * GWEI })

let chain: TestChain
let tap: RpcTap
beforeAll(async () => {
  chain = await startTestChain()
  tap = await startRpcTap(chain.url)
}, 60_000)
afterAll(async () => {
  await tap?.close()
  await chain?.stop()
})

describe.each(['v0.7', 'v0.8'] as EntryPointVersion[])('the handleOps eth_call loop (%s)', (version) => {
  let rig: BuilderRig
  let ep: Address
  let deployer: TestDeployer

  beforeAll(async () => {
    ep = chain.deployment.entryPoints[version]
    deployer = new TestDeployer(chain)
  })
  afterAll(async () => {
    await rig?.stop()
  })

  async function freshRig() {
    await rig?.stop()
    tap.intercept = undefined
    rig = await startBuilderRig(chain, { proposerClient: tap.client })
    await rig.pool.clearState()
  }

  async function setBalance(address: Address, wei: bigint) {
    await chain.client.request({
      method: 'anvil_setBalance' as never,
      params: [address, numberToHex(wei)] as never,
    })
  }

  const deploy = (name: string, args: unknown[]) => deployer.deploy(name, args)

  /** A GateAccount op (0 closes the gate, 1 reverts once closed, 2 returns no data once closed). */
  async function gateOp(gate: Address, behaviour: 0 | 1 | 2, tip: bigint): Promise<Hash> {
    const account = await deploy('GateAccount', [ep, gate, BigInt(behaviour)])
    await setBalance(account, 10n ** 19n)
    const op: UserOperation = {
      sender: account,
      nonce: 0n,
      callData: encodeFunctionData({
        abi: testArtifact('GateAccount').abi,
        functionName: 'execute',
        args: [deployer.account.address, 0n, '0x'],
      }),
      callGasLimit: 100_000n,
      verificationGasLimit: 200_000n,
      preVerificationGas: 0n,
      ...fees(tip),
      signature: `0x${'ff'.repeat(65)}`,
    }
    op.preVerificationGas = requiredPreVerificationGas(op, chainSpecFor(chain.chainId))
    return rig.pool.addOp(ep, op)
  }

  async function plainOp(tip: bigint): Promise<Hash> {
    const { op } = await buildOp(chain, version, { owner: newOwner(), overrides: fees(tip) })
    return rig.pool.addOp(ep, op)
  }

  /** handleOps eth_calls the proposer made during `fn`. */
  async function countingCalls<T>(fn: () => Promise<T>): Promise<{ result: T; calls: number }> {
    const before = tap.calls.length
    const result = await fn()
    const calls = tap.calls.slice(before).filter((c) => HANDLE_OPS.has(callSelector(c) ?? '')).length
    return { result, calls }
  }

  const propose = () => rig.proposer.propose({ entryPoint: ep, signer: rig.bundler.address, shardIndex: 0 })
  const inPool = async (h: Hash) => (await rig.pool.getOp(h)) !== undefined
  const penalised = async (address: Address) =>
    (await rig.pool.dumpReputation(ep)).find((r) => r.address.toLowerCase() === address.toLowerCase())

  it('an op that passes alone but fails in the bundle (FailedOp) is removed, the loop repeats, the rest is mined: 2 eth_calls', async () => {
    await freshRig()
    const gate = await deploy('Gate', [])
    const closer = await gateOp(gate, 0, 5n)
    const victim = await gateOp(gate, 1, 4n)
    const victimAccount = (await rig.pool.getOp(victim))?.op.sender as Address
    const plain = await plainOp(3n)
    const { result: p, calls } = await countingCalls(propose)
    expect(p.rejected.map((r) => r.hash)).toEqual([victim])
    expect(p.rejected[0]?.reason).toMatch(/^AA23 reverted/)
    expect(calls).toBe(p.rejected.length + 1)
    if (p.kind !== 'bundle') throw new Error(`no bundle: ${p.reason}`)
    expect(bundleOps(p.bundle).map((c) => c.hash)).toEqual([closer, plain])
    const sent = await rig.send(p.bundle)
    expect(sent.status).toBe('success')
    expect(sent.events.map((e) => e.success)).toEqual([true, true])
    expect(await inPool(victim)).toBe(false)
    expect((await penalised(victimAccount))?.opsSeen).toBeGreaterThan(0)
  }, 60_000)

  it(`a revert that names no op: ${version === 'v0.7' ? 'the op whose presence makes it revert is found by setting ops aside, at most one eth_call per removed op plus one' : 'v0.8 names the op (AA23): removed at once'}`, async () => {
    await freshRig()
    const gate = await deploy('Gate', [])
    const closer = await gateOp(gate, 0, 5n)
    const mute = await gateOp(gate, 2, 4n)
    const n1 = await plainOp(3n)
    const n2 = await plainOp(2n)
    const { result: p, calls } = await countingCalls(propose)
    if (p.kind !== 'bundle') throw new Error(`no bundle: ${p.reason}`)
    expect(p.rejected.map((r) => r.hash)).toEqual([mute])
    const setAside = p.skipped.filter((s) => s.reason === 'behind_unnamed_revert').map((s) => s.hash)
    if (version === 'v0.7') {
      expect(p.rejected[0]?.reason).toMatch(/bundle reverted without naming an op .*passes without this op/)
      // n2 then n1 were set aside (each call still reverted), then the mute op: the bundle passed.
      expect(setAside.sort()).toEqual([n1, n2].sort())
      expect(bundleOps(p.bundle).map((c) => c.hash)).toEqual([closer])
      expect(calls).toBe(3 + 1)
    } else {
      expect(p.rejected[0]?.reason).toMatch(/^AA23 reverted/)
      expect(setAside).toEqual([])
      expect(bundleOps(p.bundle).map((c) => c.hash)).toEqual([closer, n1, n2])
      expect(calls).toBe(1 + 1)
    }
    expect((await rig.send(p.bundle)).events.every((e) => e.success)).toBe(true)
    expect(await inPool(mute)).toBe(false)
    // Ops set aside untried stay pooled and go in the next bundle.
    for (const h of setAside) expect(await inPool(h)).toBe(true)
    if (setAside.length > 0) {
      await waitFor(async () => !(await inPool(closer)), 'the first bundle seen mined by the pool')
      const next = await propose()
      if (next.kind !== 'bundle') throw new Error(`no second bundle: ${next.reason}`)
      expect(bundleOps(next.bundle).map((c) => c.hash)).toEqual([n1, n2])
      expect((await rig.send(next.bundle)).events.every((e) => e.success)).toBe(true)
    }
  }, 60_000)

  it('"AA95 out of gas" at the simulated reserve: the call is repeated at the declared limits, which pass, and the bundle goes out with them; nothing is rejected', async () => {
    await freshRig()
    const a = await plainOp(5n)
    const b = await plainOp(4n)
    const gasOfCalls: bigint[] = []
    tap.intercept = (call) => {
      if (!HANDLE_OPS.has(callSelector(call) ?? '')) return undefined
      gasOfCalls.push(BigInt((call.params as [{ gas: string }])[0].gas))
      if (gasOfCalls.length > 1) return undefined
      // As the EntryPoint reverts when the last op's call and postOp gas is not left.
      const data = encodeErrorResult({
        abi: FAILED_OP_ABI,
        errorName: 'FailedOp',
        args: [1n, 'AA95 out of gas'],
      })
      return {
        status: 200,
        body: { jsonrpc: '2.0', id: call.id, error: { code: 3, message: 'execution reverted', data } },
      }
    }
    const p = await propose()
    if (p.kind !== 'bundle') throw new Error(`no bundle: ${p.reason}`)
    expect(p.rejected).toEqual([])
    expect(bundleOps(p.bundle).map((c) => c.hash)).toEqual([a, b])
    expect(gasOfCalls).toHaveLength(2)
    expect(gasOfCalls[0]).toBeLessThan(gasOfCalls[1] as bigint)
    expect(p.bundle.tx.gas).toBe(gasOfCalls[1])
    tap.intercept = undefined
    expect((await rig.send(p.bundle)).events.every((e) => e.success)).toBe(true)
  }, 60_000)

  it('a node failure half-way: the proposal fails, but the rejection already decided reaches the pool', async () => {
    await freshRig()
    const gate = await deploy('Gate', [])
    await gateOp(gate, 0, 5n)
    const victim = await gateOp(gate, 1, 4n)
    const victimAccount = (await rig.pool.getOp(victim))?.op.sender as Address
    let handleOpsCalls = 0
    tap.intercept = (call) => {
      if (!HANDLE_OPS.has(callSelector(call) ?? '')) return undefined
      handleOpsCalls++
      // The node fails on the second round's call (after the first named the victim).
      return handleOpsCalls === 2 ? rpcError(call.id, -32000, 'header not found') : undefined
    }
    await expect(propose()).rejects.toThrow(/header not found/)
    expect(handleOpsCalls).toBe(2)
    expect(await inPool(victim)).toBe(false)
    expect((await penalised(victimAccount))?.opsSeen).toBeGreaterThan(0)
  }, 60_000)
})
