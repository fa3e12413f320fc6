import { Redis } from 'ioredis'
import type { Logger } from '../../util/log.js'
import { SignerConfigError } from './errors.js'

/** The three lock operations, each atomic on the Redis side. */
export interface LockStore {
  /** SET NX PX: true when the lock was free and is now ours. */
  tryAcquire(name: string, token: string, ttlMillis: number): Promise<boolean>
  /** Extends only if the lock still holds our token. */
  renew(name: string, token: string, ttlMillis: number): Promise<boolean>
  /** Deletes only if the lock still holds our token. */
  release(name: string, token: string): Promise<boolean>
  /** Called when the connection drops: every lease through it must be treated as lost. */
  onConnectionLost(cb: (reason: string) => void): () => void
  /** Called when the connection is (re)established. */
  onReady(cb: () => void): () => void
  close(): Promise<void>
}

// Check-and-extend / check-and-delete: a lock that expired and was taken by another token is untouched.
const RENEW_LUA = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`
const RELEASE_LUA = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`

type ScriptRedis = Redis & {
  conveyorRenewLock(name: string, token: string, ttl: number): Promise<number>
  conveyorReleaseLock(name: string, token: string): Promise<number>
}

/** Lock name shared by every Conveyor process on the same chain: `{chainId}:{keyId}`. */
export function lockName(chainId: number, keyId: string): string {
  return `${chainId}:${keyId}`
}

/** host:port of a Redis URI, for logs: the URI itself may carry a password. */
export function redactRedisUri(uri: string): string {
  try {
    const u = new URL(uri)
    return `${u.protocol}//${u.hostname}:${u.port || '6379'}${u.pathname && u.pathname !== '/' ? u.pathname : ''}`
  } catch {
    return '[unparsable redis uri]'
  }
}

export function validateRedisUri(uri: string): void {
  let u: URL
  try {
    u = new URL(uri)
  } catch {
    throw new SignerConfigError('--signer.redis_uri is not a valid URI (expected redis://host:port)')
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new SignerConfigError(`--signer.redis_uri must use redis:// or rediss://, not ${u.protocol}//`)
  }
}

export interface RedisLockStoreOptions {
  /** Bound on every command; a hung Redis fails the renewal instead of stalling it. */
  commandTimeoutMillis: number
  logger: Logger
}

export class RedisLockStore implements LockStore {
  private readonly redis: ScriptRedis
  private readonly lostCbs = new Set<(reason: string) => void>()
  private readonly readyCbs = new Set<() => void>()
  private lastErrorLog = 0
  private readonly commandTimeoutMillis: number

  constructor(uri: string, opts: RedisLockStoreOptions) {
    validateRedisUri(uri)
    this.commandTimeoutMillis = opts.commandTimeoutMillis
    const where = redactRedisUri(uri)
    this.redis = new Redis(uri, {
      // Fail fast while disconnected: a queued renewal that runs after reconnecting would be a lie.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: opts.commandTimeoutMillis,
      connectTimeout: Math.max(opts.commandTimeoutMillis, 1000),
      retryStrategy: (times) => Math.min(100 * times, 1000),
      lazyConnect: true,
    }) as ScriptRedis
    this.redis.defineCommand('conveyorRenewLock', { numberOfKeys: 1, lua: RENEW_LUA })
    this.redis.defineCommand('conveyorReleaseLock', { numberOfKeys: 1, lua: RELEASE_LUA })
    this.redis.on('error', (err: Error) => {
      // ioredis reports every failed reconnect; one line per 5 s is enough.
      const now = Date.now()
      if (now - this.lastErrorLog > 5000) {
        this.lastErrorLog = now
        opts.logger.warn({ redis: where, err: err.message }, 'signer lock redis error')
      }
    })
    this.redis.on('close', () => {
      for (const cb of this.lostCbs) cb('redis connection closed')
    })
    this.redis.on('ready', () => {
      opts.logger.info({ redis: where }, 'signer lock redis connected')
      for (const cb of this.readyCbs) cb()
    })
    // The first connect happens in the background; acquire() retries until it succeeds.
    this.redis.connect().catch(() => {})
  }

  async tryAcquire(name: string, token: string, ttlMillis: number): Promise<boolean> {
    await this.waitReady()
    return (await this.redis.set(name, token, 'PX', ttlMillis, 'NX')) === 'OK'
  }

  /** While a (re)connect is under way, give it up to one command timeout before failing fast. */
  private async waitReady(): Promise<void> {
    const status = this.redis.status
    if (status === 'ready' || (status !== 'connecting' && status !== 'connect' && status !== 'wait')) return
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.redis.off('ready', done)
        resolve()
      }
      const timer = setTimeout(done, this.commandTimeoutMillis)
      this.redis.once('ready', done)
    })
  }

  async renew(name: string, token: string, ttlMillis: number): Promise<boolean> {
    return (await this.redis.conveyorRenewLock(name, token, ttlMillis)) === 1
  }

  async release(name: string, token: string): Promise<boolean> {
    return (await this.redis.conveyorReleaseLock(name, token)) === 1
  }

  onConnectionLost(cb: (reason: string) => void): () => void {
    this.lostCbs.add(cb)
    return () => this.lostCbs.delete(cb)
  }

  onReady(cb: () => void): () => void {
    this.readyCbs.add(cb)
    return () => this.readyCbs.delete(cb)
  }

  async close(): Promise<void> {
    this.lostCbs.clear()
    this.readyCbs.clear()
    try {
      await this.redis.quit()
    } catch {
      this.redis.disconnect()
    }
  }
}
