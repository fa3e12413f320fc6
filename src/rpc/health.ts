import type { PoolQuery } from '../pool/types.js'

export type Health = { ok: true; blockNumber: bigint } | { ok: false; reason: string }

export interface HealthDeps {
  client: { getBlockNumber(args?: { cacheTime?: number }): Promise<bigint> }
  pool: Pick<PoolQuery, 'isCurrent'>
  timeoutMs: number
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms)
  })
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer))
}

/** Healthy when the node answers and the pool's chain tracker has caught up with it. */
export async function checkHealth(deps: HealthDeps): Promise<Health> {
  let blockNumber: bigint
  try {
    blockNumber = await withTimeout(deps.client.getBlockNumber({ cacheTime: 0 }), deps.timeoutMs, 'node')
  } catch {
    return { ok: false, reason: 'node unreachable' }
  }
  try {
    if (!(await withTimeout(deps.pool.isCurrent(), deps.timeoutMs, 'pool')))
      return { ok: false, reason: 'pool is behind the chain head' }
  } catch {
    return { ok: false, reason: 'pool did not answer' }
  }
  return { ok: true, blockNumber }
}
