import { pino } from 'pino'
import { Registry } from 'prom-client'
import { createPublicClient, createTestClient, http, parseEther } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BalanceMonitor } from '../src/builder/signer/balance.js'
import { type AnvilNode, startAnvil } from '../src/dev/anvil.js'

let anvil: AnvilNode
beforeAll(async () => {
  anvil = await startAnvil()
})
afterAll(async () => {
  await anvil?.stop()
})

describe('signer funding visibility', () => {
  it('exports each balance as a gauge and gates proposing until the signer is funded', async () => {
    const registry = new Registry()
    const lines: { msg: string; level: number; address?: string }[] = []
    const logger = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s)) })
    const monitor = new BalanceMonitor({ registry, logger })
    const pub = createPublicClient({ transport: http(anvil.url) })
    const test = createTestClient({ mode: 'anvil', transport: http(anvil.url) })
    const rich = privateKeyToAccount(generatePrivateKey()).address
    const poor = privateKeyToAccount(generatePrivateKey()).address
    await test.setBalance({ address: rich, value: parseEther('2') })
    await test.setBalance({ address: poor, value: 1000n })

    const bundleCost = 500_000n * 2_000_000_000n // gas limit × max fee per gas
    expect(monitor.canAfford(rich, bundleCost)).toBe(false) // unknown balance: not funded
    await monitor.refresh(pub, [rich, poor])
    expect(monitor.balanceOf(rich)).toBe(parseEther('2'))
    expect(monitor.canAfford(rich, bundleCost)).toBe(true)
    expect(monitor.canAfford(poor, bundleCost)).toBe(false)
    expect(monitor.canAfford(poor, bundleCost)).toBe(false)
    const warnings = lines.filter((l) => l.level === 40 && l.address === poor)
    expect(warnings).toHaveLength(1) // once per transition, not per round
    expect(warnings[0]?.msg).toMatch(/cannot pay its next bundle: sender stops proposing until funded/)

    const metrics = await registry.getMetricsAsJSON()
    const balances = metrics.find((m) => m.name === 'conveyor_signer_balance_wei')
    expect(balances?.values.find((v) => v.labels.address === rich)?.value).toBe(2e18)
    expect(balances?.values.find((v) => v.labels.address === poor)?.value).toBe(1000)
    const funded = metrics.find((m) => m.name === 'conveyor_signer_funded')
    expect(funded?.values.find((v) => v.labels.address === poor)?.value).toBe(0)

    await test.setBalance({ address: poor, value: parseEther('1') })
    await monitor.refresh(pub, [poor])
    expect(monitor.canAfford(poor, bundleCost)).toBe(true)
    expect(lines.some((l) => l.address === poor && /funded again/.test(l.msg))).toBe(true)
    const after = await registry.getMetricsAsJSON()
    expect(
      after.find((m) => m.name === 'conveyor_signer_funded')?.values.find((v) => v.labels.address === poor)
        ?.value,
    ).toBe(1)
  })
})
