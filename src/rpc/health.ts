import type { PoolQuery } from '../pool/types.js'

export type Health = { ok: true; blockNumber: bigint } | { ok: false; reason: string }

export interface HealthDeps {
  client: { getBlockNumber(args?: { cacheTime?: number }): Promise<bigint> }
  pool: Pick<PoolQuery, 'isCurrent'>
  timeoutMs: number
  /** How often a pool that is one step behind is asked again within timeoutMs; default 100 ms. */
  recheckMs?: number
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms)
  })
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer))
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Healthy when the node answers and the pool's chain tracker has caught up with it. A tracker is
 * always a moment behind a block that just arrived, so a pool that is behind is asked again until
 * timeoutMs has passed: only a tracker that stays behind makes the bundler unhealthy (a load
 * balancer must not see it flap with every block).
 */
export async function checkHealth(deps: HealthDeps): Promise<Health> {
  let blockNumber: bigint
  try {
    blockNumber = await withTimeout(deps.client.getBlockNumber({ cacheTime: 0 }), deps.timeoutMs, 'node')
  } catch {
    return { ok: false, reason: 'node unreachable' }
  }
  const deadline = Date.now() + deps.timeoutMs
  for (;;) {
    let current: boolean
    try {
      current = await withTimeout(deps.pool.isCurrent(), Math.max(1, deadline - Date.now()), 'pool')
    } catch {
      return { ok: false, reason: 'pool did not answer' }
    }
    if (current) return { ok: true, blockNumber }
    const wait = Math.min(deps.recheckMs ?? 100, deadline - Date.now())
    if (wait <= 0) return { ok: false, reason: 'pool is behind the chain head' }
    await sleep(wait)
  }
}
