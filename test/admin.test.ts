import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { type BrowserContext, chromium } from 'playwright-core'
import { numberToHex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type App, startApp } from '../src/app.js'
import { chainSpecFor } from '../src/chain/chain-spec.js'
import { loadConfig } from '../src/config/index.js'
import { encodeUserOp } from '../src/rpc/encode.js'
import { buildOp, newOwner } from './harness/account.js'
import { startTestChain, type TestChain } from './harness/chain.js'
import { ROOT } from './support/conveyor-process.js'
import { waitFor } from './support/wait.js'

/**
 * The metrics and admin server of a real Conveyor (startApp) on a real anvil: its endpoints, the
 * RPC port no longer serving /metrics, and the status page in a real headless Chromium (Debian's
 * `chromium`, driven by playwright-core; no browser is downloaded).
 */

const V07 = 'v0.7' as const
const CHROMIUM = '/usr/bin/chromium'
const ARTIFACTS = join(ROOT, 'test', 'artifacts')

let chain: TestChain
let app: App
const signerKey = generatePrivateKey()

async function rpc(url: string, method: string, params: unknown[] = []): Promise<unknown> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  })
  const body = (await res.json()) as { result?: unknown; error?: { message: string } }
  if (body.error) throw new Error(`${method}: ${body.error.message}`)
  return body.result
}

beforeAll(async () => {
  chain = await startTestChain()
  await chain.client.request({
    method: 'anvil_setBalance' as never,
    params: [privateKeyToAccount(signerKey).address, numberToHex(10n ** 20n)] as never,
  })
  const config = loadConfig({
    command: 'node',
    argv: [
      `--node_http=${chain.url}`,
      `--enabled_entry_points=${chain.deployment.entryPoints[V07]}`,
      `--signer.private_keys=${signerKey}`,
      '--rpc.port=0',
      '--metrics.port=0',
    ],
  })
  app = await startApp({
    config,
    nodeUrl: chain.url,
    chainId: chain.chainId,
    chainSpec: chainSpecFor(chain.chainId),
    log: pino({ level: 'silent' }),
  })
}, 60_000)

afterAll(async () => {
  await app?.stop()
  await chain?.stop()
})

describe('metrics and admin server', () => {
  it('serves /metrics and /health on its own port; the RPC port no longer serves /metrics', async () => {
    expect(app.adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(app.adminUrl).not.toBe(app.rpcUrl)
    await rpc(app.rpcUrl!, 'eth_chainId')

    const metrics = await fetch(`${app.adminUrl}/metrics`)
    expect(metrics.status).toBe(200)
    expect(metrics.headers.get('content-type')).toContain('text/plain')
    const text = await metrics.text()
    const ep = chain.deployment.entryPoints[V07]
    expect(text).toContain(`op_pool_num_ops_in_pool{entry_point="${ep}"} 0`)
    expect(text).toContain('conveyor_rpc_requests_total{method="eth_chainId"} 1')
    expect(text).toMatch(
      /conveyor_builder_sender_state\{sender="0",signer="0x[0-9a-fA-F]{40}",state="Building"\} 1/,
    )
    expect(text).toContain('op_pool_chain_block_height')
    expect(text).toContain('process_cpu_seconds_total') // Node's default metrics
    expect(text).not.toContain(signerKey.slice(2))

    const health = await fetch(`${app.adminUrl}/health`)
    expect(health.status).toBe(200)
    expect((await health.json()).status).toBe('ok')

    const onRpc = await fetch(`${app.rpcUrl}/metrics`)
    expect(onRpc.status).toBe(404)
    expect(await onRpc.text()).not.toContain('conveyor_rpc_requests_total')
  })

  it('/status.json holds every sender, the pool per EntryPoint and the head, and no secret', async () => {
    await waitFor(async () => (await statusJson()).head !== undefined, 'a head in the status')
    const s = await statusJson()
    expect(s.chainId).toBe(chain.chainId)
    expect(s.senders).toHaveLength(1)
    expect(s.senders[0]).toMatchObject({
      index: 0,
      state: 'Building',
      signer: privateKeyToAccount(signerKey).address,
      keyId: 'key-0',
    })
    expect(s.pool).toEqual([
      expect.objectContaining({ entryPoint: chain.deployment.entryPoints[V07], ops: 0 }),
    ])
    expect(Number(s.head.number)).toBeGreaterThan(0)
    expect(JSON.stringify(s)).not.toContain(signerKey.slice(2))
  })

  it('--metrics=false starts no metrics server', async () => {
    const config = loadConfig({
      command: 'node',
      argv: [
        `--node_http=${chain.url}`,
        `--signer.private_keys=${generatePrivateKey()}`,
        '--rpc.port=0',
        '--metrics=false',
      ],
    })
    const off = await startApp({
      config,
      nodeUrl: chain.url,
      chainId: chain.chainId,
      chainSpec: chainSpecFor(chain.chainId),
      log: pino({ level: 'silent' }),
    })
    try {
      expect(off.adminUrl).toBeUndefined()
      expect((await fetch(`${off.rpcUrl}/metrics`)).status).toBe(404)
    } finally {
      await off.stop()
    }
  })
})

// biome-ignore lint/suspicious/noExplicitAny: the snapshot is asserted field by field
async function statusJson(): Promise<any> {
  return (await fetch(`${app.adminUrl}/status.json`)).json()
}

describe('status page in headless Chromium', () => {
  let context: BrowserContext
  let profile: string
  beforeAll(async () => {
    profile = mkdtempSync(join(tmpdir(), 'conveyor-chromium-'))
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 412, height: 915 }, // a phone
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    })
  }, 60_000)
  afterAll(async () => {
    await context?.close()
    if (profile) rmSync(profile, { recursive: true, force: true })
  })

  it('shows the sender go Building → Pending → Building while its bundle is mined, live', async () => {
    mkdirSync(ARTIFACTS, { recursive: true })
    const page = await context.newPage()
    const external: string[] = []
    page.on('request', (r) => {
      if (!r.url().startsWith(app.adminUrl!)) external.push(r.url())
    })
    await page.goto(`${app.adminUrl}/`)
    const sender = page.locator('[data-sender="0"]')
    await sender.locator('.state.current', { hasText: 'Building' }).waitFor({ timeout: 20_000 })
    await page.locator('#link[data-state="live"]').waitFor()

    // Blocks only on demand from here: the bundle stays pending until the test mines it.
    await chain.client.request({ method: 'evm_setAutomine' as never, params: [false] as never })
    try {
      const { op, hash } = await buildOp(chain, V07, { owner: newOwner() })
      expect(
        await rpc(app.rpcUrl!, 'eth_sendUserOperation', [
          encodeUserOp(op),
          chain.deployment.entryPoints[V07],
        ]),
      ).toBe(hash)

      await page.locator('[data-sender="0"][data-state="Pending"]').waitFor({ timeout: 30_000 })
      const pendingText = (await sender.textContent()) ?? ''
      expect(pendingText).toContain('Pending tx')
      expect(pendingText).toMatch(/Blocks waited\s*0 of 2/)
      expect(await page.locator('#bundles tr[data-outcome="pending"]').count()).toBe(1)
      const status = await statusJson()
      const txHash = status.senders[0].pending.hash as string
      expect(pendingText).toContain(txHash)
      await page.screenshot({ path: join(ARTIFACTS, 'status-page-pending.png'), fullPage: true })

      await chain.client.request({ method: 'evm_mine' as never, params: [] as never })
      await page.locator('[data-sender="0"][data-state="Building"]').waitFor({ timeout: 30_000 })
      await page.locator('#bundles tr[data-outcome="mined"]').waitFor({ timeout: 30_000 })
      const row = (await page.locator('#bundles tr[data-outcome="mined"]').textContent()) ?? ''
      expect(row).toContain(`${txHash.slice(0, 8)}…`)
      expect(await sender.textContent()).toMatch(/Last bundle\s*mined/)
      const receipt = await chain.client.getTransactionReceipt({ hash: txHash as `0x${string}` })
      expect(row).toContain(receipt.gasUsed.toString())
      await page.screenshot({ path: join(ARTIFACTS, 'status-page.png'), fullPage: true })

      // The same bundle in the metrics, under Rundler's names where Rundler has them.
      const metrics = await (await fetch(`${app.adminUrl}/metrics`)).text()
      expect(metrics).toContain('builder_bundle_txns_sent{sender="0"} 1')
      expect(metrics).toContain('builder_bundle_txns_success{sender="0"} 1')
      expect(metrics).toContain(`builder_bundle_gas_used{sender="0"} ${receipt.gasUsed}`)
      expect(metrics).toContain('conveyor_builder_bundle_time_to_mine_seconds_count{sender="0"} 1')
      expect(metrics).toContain(
        `conveyor_pool_admissions_total{entry_point="${chain.deployment.entryPoints[V07]}",outcome="admitted",code=""} 1`,
      )
      expect(metrics).toMatch(/conveyor_sim_tracer_seconds_count \d+/)
    } finally {
      await chain.client.request({ method: 'evm_setAutomine' as never, params: [true] as never })
    }
    expect(external).toEqual([]) // no CDN, nothing outside Conveyor
  }, 120_000)
})
