import { type Address, getAddress, type Hash, pad } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BlockShare } from '../src/builder/block-share.js'
import { bundleOps as opsOf } from '../src/builder/bundle.js'
import { chainSpecFor } from '../src/chain/chain-spec.js'
import type { EntryPointVersion } from '../src/chain/entrypoint.js'
import { opMaxCost, opMaxGas, requiredPreVerificationGas } from '../src/chain/gas.js'
import type { UserOperation } from '../src/chain/userop.js'
import { buildOp, newOwner } from './harness/account.js'
import { bundleOps } from './harness/bundle.js'
import { startTestChain, type TestChain } from './harness/chain.js'
import { deployVerifyingPaymaster, withVerifyingPaymaster } from './harness/paymaster.js'
import { type BuilderRig, startBuilderRig } from './support/builder-rig.js'

const versions: EntryPointVersion[] = ['v0.7', 'v0.8']

describe.each(versions)('bundle proposer on anvil (%s)', (version) => {
  let chain: TestChain
  let rig: BuilderRig
  let entryPoint: Address

  beforeAll(async () => {
    chain = await startTestChain()
    entryPoint = chain.deployment.entryPoints[version]
  })
  afterAll(async () => {
    await rig?.stop()
    await chain?.stop()
  })

  async function freshRig(opts: Parameters<typeof startBuilderRig>[1] = {}) {
    await rig?.stop()
    rig = await startBuilderRig(chain, opts)
    await rig.pool.clearState()
    return rig
  }

  async function admit(count: number, extra: Partial<UserOperation> = {}) {
    const hashes: Hash[] = []
    for (let i = 0; i < count; i++) {
      const { op } = await buildOp(chain, version, { owner: newOwner(), overrides: extra })
      hashes.push(await rig.pool.addOp(entryPoint, op))
    }
    return hashes
  }

  async function inPool(hash: `0x${string}`) {
    return (await rig.pool.getOp(hash)) !== undefined
  }

  it('builds a bundle whose handleOps is mined with every op successful', async () => {
    await freshRig()
    const hashes = await admit(3)
    const p = await rig.proposer.propose({ entryPoint, signer: rig.bundler.address, shardIndex: 0 })
    expect(p.kind).toBe('bundle')
    if (p.kind !== 'bundle') return
    expect(
      opsOf(p.bundle)
        .map((c) => c.hash)
        .sort(),
    ).toEqual([...hashes].sort())
    const sent = await rig.send(p.bundle)
    expect(sent.status).toBe('success')
    expect(sent.events.map((e) => e.success)).toEqual([true, true, true])
  })

  it('stops at the gas cap: the crossing op and those after it stay pooled for the next bundle', async () => {
    const { op: probe } = await buildOp(chain, version, { owner: newOwner() })
    const perOp = opMaxGas(probe)
    await freshRig({ proposer: { maxBundleGas: perOp * 2n + perOp / 2n } })
    const hashes = await admit(4)
    const first = await rig.proposer.propose({ entryPoint, signer: rig.bundler.address, shardIndex: 0 })
    expect(first.kind).toBe('bundle')
    if (first.kind !== 'bundle') return
    const included = opsOf(first.bundle).map((c) => c.hash)
    expect(included).toHaveLength(2)
    const left = hashes.filter((h) => !included.includes(h))
    expect(
      first.skipped
        .filter((s) => s.reason === 'gas_cap')
        .map((s) => s.hash)
        .sort(),
    ).toEqual([...left].sort())
    for (const h of left) expect(await inPool(h)).toBe(true)
    expect((await rig.send(first.bundle)).status).toBe('success')
    await waitFor(async () => !(await inPool(included[0]!)))

    const second = await rig.proposer.propose({ entryPoint, signer: rig.bundler.address, shardIndex: 0 })
    expect(second.kind).toBe('bundle')
    if (second.kind !== 'bundle') return
    expect(
      opsOf(second.bundle)
        .map((c) => c.hash)
        .sort(),
    ).toEqual([...left].sort())
    expect((await rig.send(second.bundle)).events.every((e) => e.success)).toBe(true)
  })

  it('block share: once bundles are mined, a bundle stays within its share of the block; the rest go next', async () => {
    // Many senders (200) make the share small enough to bite with a few ops: 30M / (1 + 199·used/limit).
    const share = new BlockShare(200)
    await freshRig({ blockShare: share })
    const first = await admit(1)
    const p0 = await rig.proposer.propose({ entryPoint, signer: rig.bundler.address, shardIndex: 0 })
    if (p0.kind !== 'bundle') throw new Error(`expected a bundle, got ${p0.reason}`)
    expect(opsOf(p0.bundle).map((c) => c.hash)).toEqual(first) // no bundle mined yet: no cap
    const sent = await rig.send(p0.bundle)
    const receipt = await chain.client.getTransactionReceipt({ hash: sent.hash })
    share.record(p0.bundle.tx.gas, receipt.gasUsed)
    const { gasLimit } = await chain.client.getBlock()
    const cap = share.cap(gasLimit) as bigint
    await waitFor(async () => !(await inPool(first[0]!)))

    const hashes = await admit(4)
    const mined: Hash[] = []
    for (let round = 0; round < 4 && mined.length < hashes.length; round++) {
      const p = await rig.proposer.propose({ entryPoint, signer: rig.bundler.address, shardIndex: 0 })
      if (p.kind !== 'bundle') throw new Error(`expected a bundle, got ${p.reason}`)
      const included = opsOf(p.bundle).map((c) => c.hash)
      const left = hashes.length - mined.length
      if (left > 1) {
        expect(included.length).toBeLessThan(left) // the share bit
        expect(p.skipped.filter((s) => s.reason === 'block_share').length).toBe(left - included.length)
      }
      if (included.length > 1) expect(p.bundle.tx.gas).toBeLessThanOrEqual(cap)
      const r = await rig.send(p.bundle)
      expect(r.events.every((e) => e.success)).toBe(true)
      mined.push(...included)
      await waitFor(async () => !(await inPool(included[0]!)))
    }
    expect(mined.sort()).toEqual([...hashes].sort()) // every op went, over several bundles
  })

  it('second simulation: an op whose account owner changed after admission leaves the bundle and the pool, and the account is penalized', async () => {
    await freshRig()
    const owner = newOwner()
    // Deploy the account first so its owner slot exists, then admit an op signed by that owner.
    const { op: deployOp } = await buildOp(chain, version, { owner })
    await rig.pool.addOp(entryPoint, deployOp)
    const d = await rig.proposer.propose({ entryPoint, signer: rig.bundler.address, shardIndex: 0 })
    if (d.kind !== 'bundle') throw new Error(`expected a bundle, got ${d.reason}`)
    await rig.send(d.bundle)
    await waitFor(async () => (await rig.pool.dumpMempool(entryPoint)).length === 0)

    const { op, hash } = await buildOp(chain, version, { owner })
    await rig.pool.addOp(entryPoint, op)
    const good = await admit(1)
    // SimpleAccount keeps its owner in slot 0: hand the account to somebody else.
    const slot0 = await chain.client.getStorageAt({ address: op.sender, slot: '0x0' })
    expect(getAddress(`0x${slot0!.slice(-40)}`)).toBe(owner.address)
    await chain.client.request({
      method: 'anvil_setStorageAt' as never,
      params: [op.sender, '0x0', pad(newOwner().address, { size: 32 })] as never,
    })

    const p = await rig.proposer.propose({ entryPoint, signer: rig.bundler.address, shardIndex: 0 })
    expect(p.rejected.map((r) => r.hash)).toEqual([hash])
    expect(await inPool(hash)).toBe(false)
    const rep = await rig.pool.dumpReputation(entryPoint)
    const penalized = rep.find((r) => r.address.toLowerCase() === op.sender.toLowerCase())
    expect(penalized?.opsSeen ?? 0).toBeGreaterThanOrEqual(1000)
    expect(p.kind).toBe('bundle')
    if (p.kind === 'bundle') {
      expect(opsOf(p.bundle).map((c) => c.hash)).toEqual(good)
      expect((await rig.send(p.bundle)).events.every((e) => e.success)).toBe(true)
    }
  })

  it('second simulation: an op whose account code changed since admission is rejected by code hash', async () => {
    await freshRig()
    const [victim] = await admit(1)
    const poolOp = await rig.pool.getOp(victim!)
    // Same behaviour, different bytes: append a byte after the runtime code.
    const code = await chain.client.getCode({ address: poolOp!.op.sender })
    const factoryCode = await chain.client.getCode({ address: chain.deployment.factories[version] })
    const target = poolOp!.op.factory ? poolOp!.op.factory : poolOp!.op.sender
    await chain.client.request({
      method: 'anvil_setCode' as never,
      params: [target, `${(poolOp!.op.factory ? factoryCode : code) ?? '0x'}00`] as never,
    })
    const p = await rig.proposer.propose({ entryPoint, signer: rig.bundler.address, shardIndex: 0 })
    expect(p.kind).toBe('none')
    expect(p.rejected).toHaveLength(1)
    expect(p.rejected[0]!.reason).toMatch(/code of .* changed since admission/)
    expect(await inPool(victim!)).toBe(false)
    // Restore the factory for the other tests.
    if (poolOp!.op.factory) {
      await chain.client.request({ method: 'anvil_setCode' as never, params: [target, factoryCode] as never })
    }
  })

  it('paymaster deposit accounted across the bundle: only what the deposit covers is bundled and mined', async () => {
    await freshRig()
    const signer = newOwner()
    const draft = (await buildOp(chain, version, { owner: newOwner(), sign: false })).op
    const sample = {
      ...draft,
      paymaster: draft.sender,
      paymasterVerificationGasLimit: 100_000n,
      paymasterPostOpGasLimit: 0n,
    }
    const cost = opMaxCost({ ...sample, preVerificationGas: draft.preVerificationGas + 2_000n })
    const paymaster = await deployVerifyingPaymaster(chain, version, signer.address, cost + cost / 2n)
    const hashes: `0x${string}`[] = []
    for (let i = 0; i < 2; i++) {
      const owner = newOwner()
      const { op: raw } = await buildOp(chain, version, { owner, sign: false })
      let op = await withVerifyingPaymaster(chain, raw, paymaster, signer)
      op = { ...op, preVerificationGas: requiredPreVerificationGas(op, chainSpecFor(chain.chainId)) }
      op = await withVerifyingPaymaster(chain, op, paymaster, signer)
      const { signature: _unsigned, ...fields } = op
      const { op: signed } = await buildOp(chain, version, { owner, fund: false, overrides: fields })
      hashes.push(await rig.pool.addOp(entryPoint, signed))
    }
    const p = await rig.proposer.propose({ entryPoint, signer: rig.bundler.address, shardIndex: 0 })
    expect(p.kind).toBe('bundle')
    if (p.kind !== 'bundle') return
    expect(opsOf(p.bundle)).toHaveLength(1)
    const dropped = p.skipped.find((s) => s.reason === 'paymaster_deposit')
    expect(dropped && hashes.includes(dropped.hash)).toBe(true)
    expect(await inPool(dropped!.hash)).toBe(true)
    const sent = await rig.send(p.bundle)
    expect(sent.events).toHaveLength(1)
    expect(sent.events[0]!.success).toBe(true)
  })

  it('ops mined elsewhere since admission leave the pool without penalising their entities (AA10, AA25)', async () => {
    await freshRig()
    const deployed = newOwner()
    await bundleOps(chain, version, [(await buildOp(chain, version, { owner: deployed })).op])
    const first = await buildOp(chain, version, { owner: newOwner() }) // factory op: comes back AA10
    const second = await buildOp(chain, version, { owner: deployed }) // nonce 1: comes back AA25
    for (const o of [first, second]) await rig.pool.addOp(entryPoint, o.op)
    // Mined by another bundler, before the pool has processed that block.
    await rig.pool.stop()
    const mined = await bundleOps(chain, version, [first.op, second.op])
    expect(mined.events.map((e) => e.success)).toEqual([true, true])

    const p = await rig.proposer.propose({ entryPoint, signer: rig.bundler.address, shardIndex: 0 })
    expect(p.kind).toBe('none')
    const reasons = Object.fromEntries(p.rejected.map((r) => [r.hash, r.reason]))
    expect(reasons[first.hash]).toMatch(/^AA10/)
    expect(reasons[second.hash]).toMatch(/^AA25/)
    expect(p.entityUpdates).toEqual([])
    for (const o of [first, second]) expect(await inPool(o.hash)).toBe(false)
  })

  it('says priced_out when the fee floor prices every op out, and no_ops on an empty shard', async () => {
    await freshRig()
    expect(
      (await rig.proposer.propose({ entryPoint, signer: rig.bundler.address, shardIndex: 0 })).kind,
    ).toBe('none')
    await admit(1)
    const p = await rig.proposer.propose({
      entryPoint,
      signer: rig.bundler.address,
      shardIndex: 0,
      feeFloor: { maxFeePerGas: 10n ** 15n, maxPriorityFeePerGas: 10n ** 14n },
    })
    expect(p).toMatchObject({ kind: 'none', reason: 'priced_out' })
  })
})

async function waitFor(cond: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await cond()) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error('condition not met in time')
}
