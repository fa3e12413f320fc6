import { afterAll, afterEach, beforeAll } from 'vitest'
import { LocalPool, type LocalPoolOptions } from '../../src/pool/pool.js'
import { RedisPool } from '../../src/pool/redis/redis-pool.js'
import { type RedisNode, startRedis } from './redis.js'

/** The pool suites run against both backends, to prove they behave the same. */
export type PoolBackend = 'memory' | 'redis'
export const POOL_BACKENDS: PoolBackend[] = ['memory', 'redis']
export type AnyPool = LocalPool | RedisPool

let redis: RedisNode | undefined
let current: PoolBackend = 'memory'
const opened: AnyPool[] = []
let namespaces = 0

/** Inside a describe.each(POOL_BACKENDS): starts a private redis-server for the redis backend. */
export function usePoolBackend(backend: PoolBackend): void {
  beforeAll(async () => {
    current = backend
    if (backend === 'redis' && !redis) redis = await startRedis()
  }, 30_000)
  afterEach(async () => {
    for (const p of opened.splice(0)) await p.stop()
  })
  afterAll(async () => {
    await redis?.stop()
    redis = undefined
  })
}

/** A pool of the current backend; each Redis pool gets its own key namespace (an empty pool). */
export function makePool(o: LocalPoolOptions): AnyPool {
  const pool =
    current === 'redis'
      ? new RedisPool({
          ...o,
          redisUri: (redis as RedisNode).url,
          namespace: `test${process.pid}-${namespaces++}`,
        })
      : new LocalPool(o)
  opened.push(pool)
  return pool
}

export const redisUrl = (): string | undefined => redis?.url
