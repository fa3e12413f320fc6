import type { ChainSpec } from './chain/chain-spec.js'
import type { Config } from './config/index.js'
import type { Logger } from './util/log.js'

/** What the composition root gets: a validated config and a node that answered. */
export interface AppContext {
  config: Config
  /** The chain's JSON-RPC node (the embedded anvil under `conveyor dev`). */
  nodeUrl: string
  chainId: number
  chainSpec: ChainSpec
  log: Logger
}

export interface App {
  /** Where the bundler's JSON-RPC server listens, once one is wired. */
  rpcUrl?: string
  /** Stops every service started here, in reverse order. Idempotent. */
  stop(): Promise<void>
}

/**
 * The composition root. The pool, simulation, JSON-RPC server, metrics and the bundle builder are
 * constructed and started here, from `ctx.config`, and stopped by the returned `stop()`.
 * Nothing is wired yet: the CLI, config and dev chain around this call are complete.
 */
export async function startApp(ctx: AppContext): Promise<App> {
  ctx.log.debug({ chainId: ctx.chainId }, 'no services wired yet')
  return {
    async stop() {},
  }
}
