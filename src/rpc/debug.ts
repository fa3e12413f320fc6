import type { Address } from 'viem'
import type { PoolDebug } from '../pool/types.js'
import { quantity } from './encode.js'
import { entryPointParser } from './entry-point-param.js'
import { encodeOpFor } from './eth.js'
import type { MethodTable } from './methods.js'
import { addressSchema, parseParam, positional, reputationEntriesSchema } from './params.js'

export interface DebugDeps {
  entryPoints: Address[]
  pool: PoolDebug
}

/**
 * The debug_bundler_* methods of the bundler spec test suite. Registered always, served only when
 * debug is enabled (the MethodTable gates them).
 */
export function registerDebug(table: MethodTable, deps: DebugDeps): void {
  const { pool } = deps
  const entryPoint = entryPointParser(deps.entryPoints)
  const debug = { debug: true }
  // The clear-* methods take no params and answer "ok".
  const noParams = (action: () => Promise<void>) => async (params: unknown) => {
    positional(params, 0, 0)
    await action()
    return 'ok'
  }

  table.register(
    'debug_bundler_clearState',
    noParams(() => pool.clearState()),
    debug,
  )

  table.register(
    'debug_bundler_clearMempool',
    noParams(() => pool.clearMempool()),
    debug,
  )

  table.register(
    'debug_bundler_dumpMempool',
    async (params) => {
      const ep = entryPoint(positional(params, 1, 1)[0], 0)
      const ops = await pool.dumpMempool(ep)
      return ops.map((o) => encodeOpFor(ep, o.op))
    },
    debug,
  )

  table.register(
    'debug_bundler_setReputation',
    async (params) => {
      const p = positional(params, 2, 2)
      const entries = parseParam(reputationEntriesSchema, p[0], 0)
      const ep = entryPoint(p[1], 1)
      await pool.setReputation(ep, entries)
      return 'ok'
    },
    debug,
  )

  table.register(
    'debug_bundler_dumpReputation',
    async (params) => {
      const ep = entryPoint(positional(params, 1, 1)[0], 0)
      const entries = await pool.dumpReputation(ep)
      return entries.map((e) => ({
        address: e.address,
        opsSeen: quantity(e.opsSeen),
        opsIncluded: quantity(e.opsIncluded),
        ...(e.status !== undefined ? { status: e.status } : {}),
      }))
    },
    debug,
  )

  table.register(
    'debug_bundler_clearReputation',
    noParams(() => pool.clearReputation()),
    debug,
  )

  table.register(
    'debug_bundler_getStakeStatus',
    async (params) => {
      const p = positional(params, 2, 2)
      const address = parseParam(addressSchema, p[0], 0)
      const ep = entryPoint(p[1], 1)
      const s = await pool.getStakeStatus(ep, address)
      return {
        stakeInfo: {
          addr: s.stakeInfo.addr,
          stake: quantity(s.stakeInfo.stake),
          unstakeDelaySec: quantity(s.stakeInfo.unstakeDelaySec),
        },
        isStaked: s.isStaked,
      }
    },
    debug,
  )
}
