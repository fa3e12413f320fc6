import { createPublicClient, type Hash, http, numberToHex, type PublicClient } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Builder, startBuilder, transactionSenderSettings } from '../src/builder/builder.js'
import { createTransactionSender } from '../src/builder/submit/index.js'
import { chainSpecFor } from '../src/chain/chain-spec.js'
import { type Config, loadConfig } from '../src/config/index.js'
import { createRegistry } from '../src/metrics/registry.js'
import { LocalPool } from '../src/pool/pool.js'
import { defaultSimSettings } from '../src/sim/settings.js'
import { Simulator } from '../src/sim/simulator.js'
import { createValidationMode } from '../src/sim/tracer/mode.js'
import { buildOp, newOwner } from './harness/account.js'
import { startTestChain, type TestChain } from './harness/chain.js'
import { capturedLogger } from './support/relay-bundle.js'
import { type FlashbotsRelay, startFlashbotsRelay } from './support/relay-flashbots.js'
import { waitFor } from './support/wait.js'

const V07 = 'v0.7' as const
const STEP_MS = 250
/** Hang guard on the blocks the test mines; the path needs about ten. */
const MAX_BLOCKS = 80

let chain: TestChain
let relay: FlashbotsRelay
beforeAll(async () => {
  chain = await startTestChain()
  relay = await startFlashbotsRelay(chain.url)
}, 60_000)
afterAll(async () => {
  await relay?.close()
  await chain?.stop()
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const mine = () => chain.client.request({ method: 'evm_mine' as never, params: [] as never })

interface StateMove {
  from: string
  to: string
  event: string
}

/** The driver's "sender state" lines: every edge the machine took. */
function moves(lines: string[]): StateMove[] {
  return lines
    .map((l) => JSON.parse(l) as { msg?: string } & StateMove)
    .filter((l) => l.msg === 'sender state')
    .map(({ from, to, event }) => ({ from, to, event }))
}

describe('soft cancellation through the Flashbots sender, driven by a BundleSender', () => {
  it('a privately held bundle: its replacement is "replacement underpriced" at the relay, then priced out → meta-state → soft-cancelled; Cancelling → Building; a later bundle lands', async () => {
    const authKey = generatePrivateKey()
    const key = generatePrivateKey()
    const signer = privateKeyToAccount(key).address
    await chain.client.request({
      method: 'anvil_setBalance' as never,
      params: [signer, numberToHex(10n ** 20n)] as never,
    })
    const cfg: Config = loadConfig({
      command: 'node',
      argv: [
        `--node_http=${chain.url}`,
        `--entry_points=${chain.deployment.entryPoints[V07]}`,
        `--signer.private_keys=${key}`,
        '--builder.sender=flashbots',
        `--builder.submit_url=${relay.url}`,
        `--builder.flashbots_relay_auth_key=${authKey}`,
        // Blocks drive the sender; the timer stays out of the way.
        '--bundle_max_send_interval_millis=600000',
        '--builder.max_blocks_to_wait_for_mine=1',
        '--builder.max_replacement_underpriced_blocks=1',
      ],
    })
    const { logger, lines } = capturedLogger()
    const client = createPublicClient({ transport: http(chain.url) }) as PublicClient
    const chainSpec = chainSpecFor(chain.chainId)
    const mode = await createValidationMode({ unsafe: false, client, logger })
    const validator = new Simulator({ client, settings: defaultSimSettings(chainSpec), ...mode })
    const pool = new LocalPool({
      settings: { chainId: chain.chainId, blockPollIntervalMs: 50 },
      client,
      validator,
      entryPoints: cfg.entry_points,
    })
    await pool.start()
    // The production sender (Flashbots wrapped in the fallback to the node) from the same config;
    // only the relay's chain check is lifted, since anvil is no Flashbots chain.
    const ctx = { config: cfg, chainId: chain.chainId, chainSpec, nodeUrl: chain.url }
    const submitter = await createTransactionSender({
      ...transactionSenderSettings(ctx, logger),
      allowAnyChain: true,
    })
    let builder: Builder | undefined
    try {
      // The op pays exactly the node's tip: enough for a first bundle, not for a replacement 10% above.
      const tip = await chain.client.estimateMaxPriorityFeePerGas()
      const block = await chain.client.getBlock()
      const { op, hash } = await buildOp(chain, V07, {
        owner: newOwner(),
        overrides: { maxPriorityFeePerGas: tip, maxFeePerGas: (block.baseFeePerGas ?? 0n) * 4n + tip },
      })
      await pool.addOp(chain.deployment.entryPoints[V07], op)

      relay.hold = true
      builder = await startBuilder({
        ...ctx,
        client,
        pool,
        validator,
        registry: createRegistry(),
        log: logger,
        submitter,
      })
      const sender = builder.senders[0]
      if (!sender) throw new Error('no sender')

      // 1. Mine empty blocks until the sender has cancelled the held bundle at the relay.
      const cancelled = () => relay.calls.some((c) => c.method === 'eth_cancelPrivateTransaction')
      let held: Hash | undefined
      for (let i = 0; i < MAX_BLOCKS && !cancelled(); i++) {
        held ??= sender.status().inFlight
        await mine()
        await sleep(STEP_MS)
      }
      expect(cancelled()).toBe(true)
      // No block is mined from here until the relay forwards again: the next bundle needs a head.
      relay.hold = false

      // The relay took the cancellation; the sender takes its answer (Cancelling → Building).
      await waitFor(() => sender.status().state === 'Building', 'the sender back in Building')
      expect(held).toBeDefined()
      expect(await relay.status(held as Hash)).toBe('CANCELLED')
      expect(await chain.client.getTransactionReceipt({ hash: held as Hash }).catch(() => undefined)).toBe(
        undefined,
      )
      const path = moves(lines)
      expect(path).toContainEqual({ from: 'Building', to: 'Pending', event: 'sendResult' })
      expect(path).toContainEqual({ from: 'Pending', to: 'Building', event: 'newHead' })
      expect(path).toContainEqual({ from: 'Building', to: 'Cancelling', event: 'proposal' })
      expect(path).toContainEqual({ from: 'Cancelling', to: 'Building', event: 'cancelResult' })
      // The seed's entry into the meta-state: the relay refused a resend as "replacement underpriced"
      // (the held bundle was abandoned, the probe at fresh fees refused), then the ops were priced out.
      const at = (msg: string, pred: (l: string) => boolean = () => true) =>
        lines.findIndex((l) => l.includes(`"msg":"${msg}"`) && pred(l))
      const refused = at('bundle send failed', (l) => l.includes('"error":"replacement_underpriced"'))
      expect(refused).toBeGreaterThanOrEqual(0)
      expect(at('underpriced: ops priced out of a replacement')).toBeGreaterThan(refused)
      expect(at('cancelling blocked nonce')).toBeGreaterThan(
        at('underpriced: ops priced out of a replacement'),
      )
      // The op was never lost: still pooled, waiting for the next bundle.
      expect(await pool.getOp(hash)).toBeDefined()

      // 2. The next block builds afresh (no floor after the soft cancellation): the bundle lands.
      let minedTx: Hash | undefined
      for (let i = 0; i < MAX_BLOCKS && !minedTx; i++) {
        await mine()
        await sleep(STEP_MS)
        minedTx = (await pool.getMinedOp(hash))?.transactionHash
      }
      expect(minedTx).toBeDefined()
      const tx = await chain.client.getTransaction({ hash: minedTx as Hash })
      expect(tx.from.toLowerCase()).toBe(signer.toLowerCase())
      expect(tx.hash).not.toBe(held)
      expect((await pool.getMinedOp(hash))?.success).toBe(true)
      expect(
        relay.calls.filter((c) => c.method === 'eth_sendPrivateTransaction').length,
      ).toBeGreaterThanOrEqual(2)
      expect(relay.calls.every((c) => c.signer === privateKeyToAccount(authKey).address)).toBe(true)
    } finally {
      relay.hold = false
      await builder?.stop()
      await pool.stop()
    }
  }, 90_000)
})
