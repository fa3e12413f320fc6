import {
  createWalletClient,
  type Hash,
  http,
  numberToHex,
  type PrivateKeyAccount,
  type PublicClient,
  parseEventLogs,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import type { BlockShare } from '../../src/builder/block-share.js'
import type { Bundle } from '../../src/builder/bundle.js'
import {
  BundleProposer,
  DEFAULT_PROPOSER_SETTINGS,
  type ProposerSettings,
} from '../../src/builder/proposer.js'
import { chainSpecFor } from '../../src/chain/chain-spec.js'
import { entryPointAbi } from '../../src/chain/entrypoint.js'
import { FeeEstimator } from '../../src/chain/fees.js'
import { LocalPool } from '../../src/pool/pool.js'
import type { PoolSettingsInput } from '../../src/pool/settings.js'
import { defaultSimSettings, type SimSettings } from '../../src/sim/settings.js'
import { Simulator } from '../../src/sim/simulator.js'
import type { TestChain } from '../harness/chain.js'

export interface OpOutcome {
  userOpHash: Hash
  success: boolean
}

/** A real pool, simulator, fee estimator and proposer over a test chain, plus a funded bundler key. */
export interface BuilderRig {
  pool: LocalPool
  simulator: Simulator
  proposer: BundleProposer
  bundler: PrivateKeyAccount
  /** Signs the bundle with the bundler key, sends it raw and waits for the receipt. */
  send(bundle: Bundle): Promise<{ hash: Hash; status: 'success' | 'reverted'; events: OpOutcome[] }>
  stop(): Promise<void>
}

export async function startBuilderRig(
  chain: TestChain,
  opts: {
    proposer?: Partial<ProposerSettings>
    sim?: Partial<SimSettings>
    pool?: Partial<PoolSettingsInput>
    /** The node the proposer talks to (a tap in front of the chain, say); default the chain's. */
    proposerClient?: PublicClient
    blockShare?: BlockShare
  } = {},
): Promise<BuilderRig> {
  const chainSpec = chainSpecFor(chain.chainId)
  const simulator = new Simulator({ client: chain.client, settings: defaultSimSettings(chainSpec, opts.sim) })
  const pool = new LocalPool({
    settings: { chainId: chain.chainId, blockPollIntervalMs: 50, ...opts.pool },
    client: chain.client,
    validator: simulator,
    entryPoints: Object.values(chain.deployment.entryPoints),
  })
  await pool.start()
  const client = opts.proposerClient ?? chain.client
  const proposer = new BundleProposer({
    pool,
    validator: new Simulator({ client, settings: defaultSimSettings(chainSpec, opts.sim) }),
    fees: new FeeEstimator({ client, chainSpec }),
    client,
    chainSpec,
    settings: { ...DEFAULT_PROPOSER_SETTINGS, ...opts.proposer },
    blockShare: opts.blockShare,
  })
  const bundler = privateKeyToAccount(`0x${'b0'.repeat(31)}01`)
  await chain.client.request({
    method: 'anvil_setBalance' as never,
    params: [bundler.address, numberToHex(10n ** 21n)] as never,
  })
  const wallet = createWalletClient({ account: bundler, transport: http(chain.url) })
  return {
    pool,
    simulator,
    proposer,
    bundler,
    async send(bundle) {
      const hash = await wallet.sendTransaction({ chain: null, ...bundle.tx })
      const receipt = await chain.client.waitForTransactionReceipt({
        hash,
        pollingInterval: 50,
        timeout: 30_000,
      })
      const events = parseEventLogs({
        abi: entryPointAbi(bundle.version),
        eventName: 'UserOperationEvent',
        logs: receipt.logs,
      })
      return {
        hash,
        status: receipt.status,
        events: events.map((e) => e.args as unknown as OpOutcome),
      }
    },
    stop: () => pool.stop(),
  }
}
