import type { Address } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ENTRY_POINT_VERSIONS } from '../src/chain/entrypoint.js'
import { buildOp, executeCallData, newOwner } from './harness/account.js'
import { bundleOps } from './harness/bundle.js'
import { startTestChain, type TestChain } from './harness/chain.js'

let chain: TestChain
beforeAll(async () => {
  chain = await startTestChain()
})
afterAll(async () => {
  await chain?.stop()
})

describe.each(ENTRY_POINT_VERSIONS)('handleOps with EntryPoint %s', (version) => {
  it('deploys the account in a first op, then runs a second op on it', async () => {
    const owner = newOwner()
    const recipient: Address = newOwner().address
    const first = await buildOp(chain, version, {
      owner,
      callData: executeCallData(version, recipient, 12_345n, '0x'),
    })
    expect(first.op.factory).toBe(chain.deployment.factories[version])
    expect(await chain.client.getCode({ address: first.sender })).toBeUndefined()

    const beneficiary = newOwner().address
    const r1 = await bundleOps(chain, version, [first.op], { beneficiary })
    expect(r1.receipt.status).toBe('success')
    expect(r1.events).toHaveLength(1)
    expect(r1.events[0]).toMatchObject({
      userOpHash: first.hash,
      sender: first.sender,
      nonce: 0n,
      success: true,
    })
    expect(r1.events[0]!.actualGasCost).toBeGreaterThan(0n)
    expect((await chain.client.getCode({ address: first.sender }))?.length ?? 0).toBeGreaterThan(2)
    expect(await chain.client.getBalance({ address: recipient })).toBe(12_345n)
    // The beneficiary is paid what the ops were charged.
    expect(await chain.client.getBalance({ address: beneficiary })).toBe(r1.events[0]!.actualGasCost)

    const second = await buildOp(chain, version, {
      owner,
      callData: executeCallData(version, recipient, 1n, '0x'),
    })
    expect(second.op.factory).toBeUndefined()
    expect(second.op.nonce).toBe(1n)
    const r2 = await bundleOps(chain, version, [second.op])
    expect(r2.receipt.status).toBe('success')
    expect(r2.events).toEqual([
      expect.objectContaining({ userOpHash: second.hash, nonce: 1n, success: true }),
    ])
    expect(await chain.client.getBalance({ address: recipient })).toBe(12_346n)
  })

  it('reports success = false for an op whose call reverts, and still charges it', async () => {
    const owner = newOwner()
    // execute() to the EntryPoint's handleOps with garbage reverts inside the account's call.
    const { op, hash } = await buildOp(chain, version, {
      owner,
      callData: executeCallData(version, chain.deployment.entryPoints[version], 0n, '0xdeadbeef'),
    })
    const r = await bundleOps(chain, version, [op])
    expect(r.receipt.status).toBe('success')
    expect(r.events).toEqual([expect.objectContaining({ userOpHash: hash, success: false })])
    expect(r.events[0]!.actualGasCost).toBeGreaterThan(0n)
  })
})

describe('the bundler EOA', () => {
  it('signs with a given bundler, tops it up only when it cannot pay, and pays the bundler by default', async () => {
    const bundler = newOwner()
    const first = await buildOp(chain, 'v0.7', { owner: newOwner() })
    const r1 = await bundleOps(chain, 'v0.7', [first.op], { bundler })
    expect((await chain.client.getTransaction({ hash: r1.txHash })).from).toBe(bundler.address.toLowerCase())

    const before = await chain.client.getBalance({ address: bundler.address })
    const second = await buildOp(chain, 'v0.7', { owner: newOwner() })
    const r2 = await bundleOps(chain, 'v0.7', [second.op], { bundler })
    const after = await chain.client.getBalance({ address: bundler.address })
    // No top-up this time: the balance moved only by the gas paid and the ops' payment to the beneficiary.
    expect(after).toBe(
      before - r2.receipt.gasUsed * r2.receipt.effectiveGasPrice + r2.events[0]!.actualGasCost,
    )
  })
})

describe('bundling on chains that do not automine', () => {
  it('lands with interval mining and with on-demand mining (mine: true)', async () => {
    const interval = await startTestChain({ blockTime: 1 })
    const manual = await startTestChain({ noMining: true })
    try {
      for (const [c, mine] of [
        [interval, false],
        [manual, true],
      ] as const) {
        const { op, hash } = await buildOp(c, 'v0.8', { owner: newOwner() })
        const r = await bundleOps(c, 'v0.8', [op], { mine })
        expect(r.receipt.status).toBe('success')
        expect(r.events).toEqual([expect.objectContaining({ userOpHash: hash, success: true })])
      }
    } finally {
      await Promise.all([interval.stop(), manual.stop()])
    }
  })
})
