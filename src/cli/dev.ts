import { createPublicClient, http } from 'viem'
import { startApp } from '../app.js'
import type { Config } from '../config/index.js'
import { startAnvil } from '../dev/anvil.js'
import { deployCanonical, fundAccounts } from '../dev/deploy.js'
import type { Logger } from '../util/log.js'
import type { Lifecycle } from './lifecycle.js'
import { chainSpecOrRefuse } from './node.js'
import type { ReadyInfo } from './ready.js'
import { signerAddresses, withDevKeys } from './signers.js'

/** Each dev signer starts with this balance. */
export const DEV_SIGNER_FUNDING = 1_000n * 10n ** 18n

/** `conveyor dev`: embedded chain, canonical contracts, funded signers, then the app on top. */
export async function runDev(cfg: Config, log: Logger, life: Lifecycle): Promise<ReadyInfo> {
  if (cfg.node_http) log.warn('--node_http is ignored by `conveyor dev`: it runs its own chain')
  // Whole-second intervals are switched on after deployment, so deployment need not wait for a
  // block; anvil's evm_setIntervalMining takes whole seconds only, so fractions start with the flag.
  const blockTime = cfg.dev.block_time
  const switchLater = Number.isInteger(blockTime) && blockTime > 0
  const chain = await startAnvil({
    port: cfg.dev.chain_port,
    blockTime: switchLater ? 0 : blockTime,
    chainId: cfg.chain_id,
  })
  life.defer('embedded chain', () => chain.stop())
  log.info({ url: chain.url, chainId: chain.chainId, blockTime }, 'embedded chain started')

  const deployment = await deployCanonical(chain.url)
  log.info(
    {
      entryPoints: deployment.entryPoints,
      factories: deployment.factories,
      simple7702Accounts: deployment.delegates,
    },
    'canonical contracts deployed',
  )

  const { config, generated } = withDevKeys(cfg)
  const signers = signerAddresses(config)
  await fundAccounts(chain.url, signers, DEV_SIGNER_FUNDING)
  if (signers.length > 0) log.info({ signers, generated }, 'dev signers funded')
  else log.warn('KMS signers are not funded by `conveyor dev`: fund their addresses yourself')

  if (switchLater) await setIntervalMining(chain.url, blockTime)

  const chainSpec = chainSpecOrRefuse(cfg, chain.chainId, cfg.chain_id === undefined ? 'dev' : undefined)
  const app = await startApp({
    config: { ...config, node_http: chain.url, chain_id: chain.chainId },
    nodeUrl: chain.url,
    chainId: chain.chainId,
    chainSpec,
    log,
  })
  life.defer('app', () => app.stop())
  return {
    mode: 'dev',
    rpcUrl: app.rpcUrl,
    adminUrl: app.adminUrl,
    nodeUrl: chain.url,
    chainId: chain.chainId,
    entryPoints: deployment.entryPoints,
    factories: deployment.factories,
    delegates: deployment.delegates,
    signers,
    blockTime,
  }
}

async function setIntervalMining(url: string, seconds: number): Promise<void> {
  const client = createPublicClient({ transport: http(url) })
  await client.request({ method: 'evm_setIntervalMining' as never, params: [seconds] as never })
}
