import { type Address, createPublicClient, http } from 'viem'
import { startApp } from '../app.js'
import type { ChainSpec } from '../chain/chain-spec.js'
import { ChainSpecError, resolveChainSpec } from '../chain/chain-spec-file.js'
import { type EntryPointVersion, versionOf } from '../chain/entrypoint.js'
import type { Config } from '../config/index.js'
import type { Logger } from '../util/log.js'
import type { Lifecycle } from './lifecycle.js'
import type { ReadyInfo } from './ready.js'
import { signerAddresses } from './signers.js'
import { StartupError, safeUrl } from './startup-error.js'

/**
 * `conveyor node` (and its halves `conveyor rpc`, `conveyor builder`): check the node answers, is the
 * expected chain and has the EntryPoints; then the app with the parts the command runs.
 */
export async function runNode(
  cfg: Config,
  log: Logger,
  life: Lifecycle,
  command: 'node' | 'rpc' | 'builder' = 'node',
): Promise<ReadyInfo> {
  const nodeUrl = cfg.node_http!
  const shown = safeUrl(nodeUrl)
  const client = createPublicClient({ transport: http(nodeUrl, { timeout: 10_000, retryCount: 1 }) })
  let chainId: number
  try {
    chainId = await client.getChainId()
  } catch (err) {
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err)
    throw new StartupError(`the node at ${shown} (--node_http) does not answer eth_chainId: ${reason}`)
  }
  if (cfg.chain_id !== undefined && cfg.chain_id !== chainId) {
    throw new StartupError(
      `--chain_id is ${cfg.chain_id} but the node at ${shown} reports chain id ${chainId}`,
    )
  }
  const chainSpec = chainSpecOrRefuse(cfg, chainId)
  const entryPoints: Partial<Record<EntryPointVersion, Address>> = {}
  for (const address of cfg.entry_points) {
    const code = await client.getCode({ address })
    if (!code || code === '0x') {
      throw new StartupError(
        `no EntryPoint code at ${address} on chain ${chainId}: deploy it or narrow --entry_points`,
      )
    }
    entryPoints[versionOf(address)!] = address
  }
  log.info({ node: shown, chainId, network: chainSpec.name, entryPoints }, 'node checked')

  const roles = { rpc: command !== 'builder', builder: command !== 'rpc' }
  const app = await startApp({ config: cfg, nodeUrl, chainId, chainSpec, log, roles })
  life.defer('app', () => app.stop())
  return {
    mode: command,
    rpcUrl: app.rpcUrl,
    adminUrl: app.adminUrl,
    nodeUrl: shown,
    chainId,
    entryPoints,
    signers: roles.builder ? signerAddresses(cfg) : [],
  }
}

/** The --network preset with the --chain_spec file on top; a chain id other than the node's stops start-up. */
export function chainSpecOrRefuse(
  cfg: Pick<Config, 'network' | 'chain_spec'>,
  chainId: number,
  fallback?: string,
): ChainSpec {
  try {
    return resolveChainSpec({ network: cfg.network ?? fallback, file: cfg.chain_spec }, chainId)
  } catch (err) {
    if (err instanceof ChainSpecError) throw new StartupError(err.message)
    throw err
  }
}
