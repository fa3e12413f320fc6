import {
  type Address,
  createPublicClient,
  type Hash,
  type Hex,
  http,
  numberToHex,
  type PublicClient,
  pad,
  parseEventLogs,
} from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type Builder, startBuilder } from '../src/builder/builder.js'
import type { Bundle } from '../src/builder/bundle.js'
import { rejectChangedOps } from '../src/builder/condition.js'
import { SenderConfigError } from '../src/builder/submit/index.js'
import { chainSpecFor } from '../src/chain/chain-spec.js'
import { entryPointAbi } from '../src/chain/entrypoint.js'
import { type Config, loadConfig } from '../src/config/index.js'
import { createRegistry } from '../src/metrics/registry.js'
import { LocalPool } from '../src/pool/pool.js'
import type { PoolOp } from '../src/pool/types.js'
import { defaultSimSettings } from '../src/sim/settings.js'
import { Simulator } from '../src/sim/simulator.js'
import { createValidationMode } from '../src/sim/tracer/mode.js'
import { buildOp, newOwner } from './harness/account.js'
import { bundleOps } from './harness/bundle.js'
import { startTestChain, type TestChain } from './harness/chain.js'
import { capturedLogger } from './support/relay-bundle.js'
import { type ConditionalEndpoint, startConditionalEndpoint } from './support/relay-conditional.js'
import { parseRpc, type RelayServer, startRelayServer } from './support/relay-server.js'
import { waitFor } from './support/wait.js'

const V07 = 'v0.7' as const
/** ERC-1967's implementation slot: the SimpleAccount proxy reads it on every call. */
const IMPL_SLOT: Hex = '0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc'

let chain: TestChain
let endpoint: ConditionalEndpoint
let front: RelayServer
/** Runs once, when the next eth_sendRawTransactionConditional reaches the front. */
let beforeNextConditional: (() => Promise<void>) | undefined
const conditionalSeen: number[] = []

beforeAll(async () => {
  chain = await startTestChain()
  endpoint = await startConditionalEndpoint(chain.url)
  // A front on the wire in front of the conditional endpoint: lets the test change chain state
  // between the builder's simulation and the endpoint's check, as another transaction would.
  front = await startRelayServer(async (req) => {
    const call = parseRpc(req.body)
    if (call?.method === 'eth_sendRawTransactionConditional') {
      conditionalSeen.push(Date.now())
      const hook = beforeNextConditional
      beforeNextConditional = undefined
      await hook?.()
    }
    const res = await fetch(endpoint.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: req.body,
    })
    return { status: res.status, body: await res.json() }
  })
}, 60_000)
afterAll(async () => {
  await front?.close()
  await endpoint?.close()
  await chain?.stop()
})

interface Running {
  builder: Builder
  pool: LocalPool
  stop(): Promise<void>
}
let running: Running | undefined
afterEach(async () => {
  await running?.stop()
  running = undefined
})

function config(argv: string[]): Config {
  return loadConfig({
    command: 'node',
    argv: [`--node_http=${chain.url}`, `--entry_points=${chain.deployment.entryPoints[V07]}`, ...argv],
  })
}

async function fund(address: Address): Promise<void> {
  await chain.client.request({
    method: 'anvil_setBalance' as never,
    params: [address, numberToHex(10n ** 20n)] as never,
  })
}

/** The real pool (safe mode: tracer and rules) and the real builder, from the config. */
async function startAll(cfg: Config, logger = capturedLogger().logger): Promise<Running> {
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
  try {
    const builder = await startBuilder({
      config: cfg,
      chainId: chain.chainId,
      chainSpec,
      nodeUrl: chain.url,
      client,
      pool,
      validator,
      registry: createRegistry(),
      log: logger,
    })
    return {
      builder,
      pool,
      stop: async () => {
        await builder.stop()
        await pool.stop()
      },
    }
  } catch (err) {
    await pool.stop()
    throw err
  }
}

/** A deployed SimpleAccount and its next op (signed, funded). */
async function deployedAccountOp() {
  const owner = newOwner()
  await bundleOps(chain, V07, [(await buildOp(chain, V07, { owner })).op])
  return buildOp(chain, V07, { owner })
}

async function userOpEvents(txHash: Hash) {
  const receipt = await chain.client.getTransactionReceipt({ hash: txHash })
  return parseEventLogs({ abi: entryPointAbi(V07), eventName: 'UserOperationEvent', logs: receipt.logs }).map(
    (l) => l.args as { userOpHash: Hash; success: boolean },
  )
}

describe('builder: transaction sender from the config', () => {
  it('refuses to start a private sender on a chain its relay does not serve, without echoing the key', async () => {
    const authKey = generatePrivateKey()
    const cfg = config([
      '--builder.sender=flashbots',
      `--builder.flashbots_relay_auth_key=${authKey}`,
      `--signer.private_keys=${generatePrivateKey()}`,
    ])
    const err = await startAll(cfg).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SenderConfigError)
    const message = (err as Error).message
    expect(message).toContain('--builder.sender=flashbots serves Ethereum mainnet and Sepolia only')
    expect(message).toContain(`chain ${chain.chainId}`)
    expect(message).not.toContain(authKey.slice(2))
  })

  it('refuses conditional submission through a node without eth_sendRawTransactionConditional', async () => {
    const cfg = config([
      '--builder.use_conditional_rpc=true',
      `--signer.private_keys=${generatePrivateKey()}`,
    ])
    const err = await startAll(cfg).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SenderConfigError)
    expect((err as Error).message).toContain('the node does not support eth_sendRawTransactionConditional')
  })

  it('condition not met: the op whose validation storage moved is rejected at once, the rest is mined', async () => {
    const key = generatePrivateKey()
    await fund(privateKeyToAccount(key).address)
    const a = await deployedAccountOp()
    const b = await deployedAccountOp()
    const cfg = config([
      `--builder.submit_url=${front.url}`,
      '--builder.use_conditional_rpc=true',
      `--signer.private_keys=${key}`,
      // No timer rebuild within the test: the prompt rebuild can only come from the condition path.
      '--bundle_max_send_interval_millis=600000',
    ])
    const { logger, lines } = capturedLogger()
    running = await startAll(cfg, logger)
    const { pool, builder } = running
    const ep = chain.deployment.entryPoints[V07]
    await pool.addOp(ep, a.op)
    await pool.addOp(ep, b.op)

    // Between the builder's simulation and the endpoint's check, B's proxy is pointed at a copy of
    // its implementation: B's op stays valid, but a slot its validation read has changed.
    const implementation = pad(
      (await chain.client.getStorageAt({ address: b.sender, slot: IMPL_SLOT })) as Hex,
      { size: 32 },
    )
    const implAddress = `0x${implementation.slice(26)}` as Address
    const copy = privateKeyToAccount(generatePrivateKey()).address
    beforeNextConditional = async () => {
      const code = await chain.client.getCode({ address: implAddress })
      await chain.client.request({ method: 'anvil_setCode' as never, params: [copy, code] as never })
      await chain.client.request({
        method: 'anvil_setStorageAt' as never,
        params: [b.sender, IMPL_SLOT, pad(copy, { size: 32 })] as never,
      })
    }
    const callsBefore = endpoint.conditionalCalls.length
    // A block is the auto-mode trigger.
    await chain.client.request({ method: 'evm_mine' as never, params: [] as never })

    await waitFor(
      () => endpoint.conditionalCalls.length >= callsBefore + 2,
      'a refused and an accepted bundle',
      {
        timeoutMs: 30_000,
      },
    )
    const [refused, accepted] = endpoint.conditionalCalls.slice(callsBefore)
    expect(refused?.met).toBe(false)
    expect(Object.keys(refused?.knownAccounts ?? {}).sort()).toEqual([a.sender, b.sender].sort())
    expect(accepted?.met).toBe(true)
    expect(Object.keys(accepted?.knownAccounts ?? {})).toEqual([a.sender])
    // The rebuild came from the condition path, not from the (ten-minute) timer or a new block.
    const [t1, t2] = conditionalSeen.slice(-2) as [number, number]
    expect(t2 - t1).toBeLessThan(20_000)

    // B left the pool for a stated reason; A is mined, successfully, and B is not.
    expect(await pool.getOp(b.hash)).toBeUndefined()
    expect(lines.some((l) => l.includes(b.hash) && l.includes('storage its validation read changed'))).toBe(
      true,
    )
    let mined: Hash | undefined
    await waitFor(async () => {
      mined = (await pool.getMinedOp(a.hash))?.transactionHash
      return mined !== undefined
    }, 'the bundle with A mined')
    const events = await userOpEvents(mined as Hash)
    expect(events.map((e) => [e.userOpHash, e.success])).toEqual([[a.hash, true]])
    // The sender sees the bundle mined on its next head and goes back to Building.
    await waitFor(() => builder.senders[0]?.status().state === 'Building', 'the sender back in Building')
    // B itself was still a valid op: nothing of it ran.
    const bNonce = await chain.client.readContract({
      address: ep,
      abi: entryPointAbi(V07),
      functionName: 'getNonce',
      args: [b.sender, 0n],
    })
    expect(bNonce).toBe(b.op.nonce)
  }, 60_000)
})

describe('rejectChangedOps (after condition not met)', () => {
  /** A store contract's slots on anvil, two ops' validation reads over them, and the bundle they form. */
  async function setup() {
    const store = privateKeyToAccount(generatePrivateKey()).address
    const slot = (n: number) => pad(numberToHex(n), { size: 32 })
    const set = (n: number, v: number) =>
      chain.client.request({
        method: 'anvil_setStorageAt' as never,
        params: [store, slot(n), slot(v)] as never,
      })
    await chain.client.request({ method: 'anvil_setCode' as never, params: [store, '0x00'] as never })
    await set(1, 11)
    await set(2, 22)
    // Both ops read the shared contract, each its own slot (a paymaster's per-sender deposit, say).
    const opReading = (n: number, hash: Hash): PoolOp =>
      ({
        hash,
        op: { sender: privateKeyToAccount(generatePrivateKey()).address },
        validation: { accessedStorage: { [store]: { [slot(n)]: slot(n * 11) } } },
      }) as unknown as PoolOp
    const one = opReading(1, `0x${'01'.repeat(32)}`)
    const two = opReading(2, `0x${'02'.repeat(32)}`)
    const bundle = {
      entryPoint: chain.deployment.entryPoints[V07],
      groups: [{ ops: [one, two] }],
      expectedStorage: { [store]: { [slot(1)]: slot(11), [slot(2)]: slot(22) } },
    } as unknown as Bundle
    const removed: Hash[] = []
    const deps = (client: PublicClient = chain.client) => ({
      client,
      pool: {
        removeOps: async (_ep: Address, hashes: Hash[]) => {
          removed.push(...hashes)
        },
      },
      logger: capturedLogger().logger,
    })
    return { set, one, two, bundle, removed, deps }
  }

  // The machine rebuilds at once when ops were rejected (opsRechecked{removed > 0}): machine tests.
  it('rejects only the op whose own slot moved, even in a contract both ops read', async () => {
    const t = await setup()
    await t.set(2, 23)
    expect(await rejectChangedOps(t.deps(), t.bundle)).toEqual([t.two.hash])
    expect(t.removed).toEqual([t.two.hash])
  })

  it('nothing moved: nothing is rejected', async () => {
    const t = await setup()
    expect(await rejectChangedOps(t.deps(), t.bundle)).toEqual([])
    expect(t.removed).toEqual([])
  })

  it('the re-read fails: the ops stay pooled', async () => {
    const t = await setup()
    await t.set(1, 12)
    const dead = createPublicClient({
      transport: http('http://127.0.0.1:1', { retryCount: 0 }),
    }) as PublicClient
    expect(await rejectChangedOps(t.deps(dead), t.bundle)).toEqual([])
    expect(t.removed).toEqual([])
  })
})
