import { type Address, type Hash, type Hex, numberToHex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { type App, startApp } from '../../src/app.js'
import { type ChainSpec, chainSpecFor } from '../../src/chain/chain-spec.js'
import { ENTRY_POINT_VERSIONS } from '../../src/chain/entrypoint.js'
import { loadConfig } from '../../src/config/index.js'
import { silentLogger } from '../../src/util/log.js'
import type { TestChain } from '../harness/chain.js'
import { jsonRpc } from './bundler-load.js'

/**
 * A whole Conveyor in this process over a test chain (pool, safe-mode simulation, RPC on a free
 * port with the debug methods, one bundle sender in manual mode), serving every EntryPoint.
 */
export interface ConveyorApp {
  app: App
  rpcUrl: string
  rpc<T>(method: string, params?: unknown[]): Promise<T>
  /** debug_bundler_sendBundleNow: the mined bundle's transaction hash. */
  bundleNow(): Promise<Hash>
  dumpMempool(entryPoint: Address): Promise<Record<string, Hex>[]>
  stop(): Promise<void>
}

export async function startConveyorApp(
  chain: TestChain,
  argv: string[] = [],
  opts: { signerKey?: Hex; chainSpec?: ChainSpec } = {},
): Promise<ConveyorApp> {
  const signerKey = opts.signerKey ?? generatePrivateKey()
  await chain.client.request({
    method: 'anvil_setBalance' as never,
    params: [privateKeyToAccount(signerKey).address, numberToHex(10n ** 21n)] as never,
  })
  const config = loadConfig({
    command: 'node',
    argv: [
      `--node_http=${chain.url}`,
      `--entry_points=${ENTRY_POINT_VERSIONS.join(',')}`,
      `--signer.private_keys=${signerKey}`,
      '--rpc.port=0',
      '--rpc.enable_debug_methods=true',
      '--bundling_mode=manual',
      '--num_signers=1',
      // A free port for the admin server unless the test sets it: fixed ports collide with other runs.
      ...(argv.some((a) => a.startsWith('--metrics')) ? [] : ['--metrics.port=0']),
      ...argv,
    ],
  })
  const app = await startApp({
    config,
    nodeUrl: chain.url,
    chainId: chain.chainId,
    chainSpec: opts.chainSpec ?? chainSpecFor(chain.chainId),
    log: silentLogger,
  })
  const rpcUrl = app.rpcUrl as string
  const rpc = <T>(method: string, params: unknown[] = []) => jsonRpc<T>(rpcUrl, method, params)
  return {
    app,
    rpcUrl,
    rpc,
    async bundleNow() {
      const r = await rpc<Hash | { status: string; reason: string }>('debug_bundler_sendBundleNow')
      if (typeof r !== 'string') throw new Error(`no bundle: ${r.status} ${r.reason}`)
      return r
    },
    dumpMempool: (entryPoint) => rpc('debug_bundler_dumpMempool', [entryPoint]),
    stop: () => app.stop(),
  }
}
