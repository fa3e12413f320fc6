import { Redis } from 'ioredis'
import { type Address, getAddress, type Hash, type PublicClient } from 'viem'
import type { OpClaims } from '../../builder/claims.js'
import { entryPointFor } from '../../chain/entrypoint/registry.js'
import type { EntryPointModule } from '../../chain/entrypoint/types.js'
import type { UserOperation } from '../../chain/userop.js'
import type { Validator } from '../../sim/types.js'
import { errorMessage, RpcCode, RpcError } from '../../util/errors.js'
import { type Logger, silentLogger } from '../../util/log.js'
import { refuse } from '../admission-errors.js'
import { ChainFollower } from '../chain-follower.js'
import type { BlockHeader, TrackedBlock } from '../chain-history.js'
import type { BlockData } from '../chain-tracker.js'
import { withPooledDelegate } from '../eip7702-rules.js'
import { AuthorizationSweep } from '../eip7702-sweep.js'
import { toEntry } from '../entry.js'
import { NewHeadHub } from '../new-heads.js'
import type { PoolSettings, PoolSettingsInput } from '../settings.js'
import { poolSettings } from '../settings.js'
import { checkShardIndex } from '../shard.js'
import { readStakeStatus } from '../stake-status.js'
import type {
  EntityUpdate,
  GetOpsQuery,
  MinedOpInfo,
  NewHead,
  Pool,
  PoolDebug,
  PoolOp,
  PoolQuery,
  ReputationEntry,
  StakeStatus,
} from '../types.js'
import { admit } from './admit.js'
import { appliedBlocks, applyBlock, isMined, minedOp, unwindBlock } from './chain-apply.js'
import { RedisClaims } from './claims.js'
import { poolPrefix } from './keys.js'
import { checkShardCount } from './process-checks.js'
import { ReputationStore } from './reputation-store.js'
import { definePoolScripts, EntryPointStore, type PoolRedis, scriptSettings } from './store.js'

export interface RedisPoolOptions {
  settings: PoolSettingsInput
  client: PublicClient
  validator: Validator
  entryPoints: Address[]
  /** redis:// URI of the shared pool. */
  redisUri: string
  /** Key namespace; default `conveyor:<chainId>` (one Redis may serve several chains). */
  namespace?: string
  /** Bound on every Redis command, so a hung Redis answers an error instead of a hang. */
  commandTimeoutMillis?: number
  blockSource?: (signal: AbortSignal) => AsyncIterable<BlockHeader>
  logger?: Logger
}

interface EntryPointState {
  address: Address
  module: EntryPointModule
  store: EntryPointStore
  reputation: ReputationStore
}

/**
 * The Pool in Redis, shared by every Conveyor process pointing at the same Redis: the same rules and
 * ordering as LocalPool, each write one Lua script over one EntryPoint's hash slot. Every process
 * follows the chain for its own new heads; blocks reach the pool once through the Redis watermark.
 */
export class RedisPool implements Pool, PoolQuery, PoolDebug {
  readonly settings: PoolSettings
  readonly redis: PoolRedis
  private readonly eps = new Map<string, EntryPointState>()
  private readonly client: PublicClient
  private readonly validator: Validator
  private readonly log: Logger
  private readonly hub = new NewHeadHub()
  private readonly chain: ChainFollower<undefined>
  /** Blocks Redis has not taken yet (it was unreachable): applied in order before the next one. */
  private backlog: BlockData[] = []
  private senderClaims?: RedisClaims
  private readonly namespace: string
  private readonly authorizations: AuthorizationSweep

  constructor(o: RedisPoolOptions) {
    this.settings = poolSettings(o.settings)
    this.client = o.client
    this.validator = o.validator
    this.log = o.logger ?? silentLogger
    this.authorizations = new AuthorizationSweep({ client: o.client, log: this.log })
    const timeout = o.commandTimeoutMillis ?? 3_000
    this.redis = definePoolScripts(
      new Redis(o.redisUri, {
        // A command waits for a reconnect at most once, then fails: callers get an error, not a hang.
        maxRetriesPerRequest: 1,
        commandTimeout: timeout,
        connectTimeout: Math.max(timeout, 1_000),
        retryStrategy: (times) => Math.min(100 * times, 1_000),
      }),
    )
    this.redis.on('error', (err) =>
      this.log.debug({ err: errorMessage(err) }, 'redis pool: connection error'),
    )
    const namespace = o.namespace ?? `conveyor:${this.settings.chainId}`
    this.namespace = namespace
    const json = scriptSettings(this.settings)
    for (const a of o.entryPoints) {
      const module = entryPointFor(a)
      if (!module) throw new Error(`unknown EntryPoint ${a}: Conveyor serves v0.6, v0.7, v0.8 and v0.9`)
      const address = getAddress(a)
      const store = new EntryPointStore(
        this.redis,
        poolPrefix(namespace, address),
        address,
        json,
        this.settings.numShards,
      )
      this.eps.set(a.toLowerCase(), {
        address,
        module,
        store,
        reputation: new ReputationStore(store, this.settings.reputation),
      })
    }
    this.chain = new ChainFollower<undefined>({
      client: this.client,
      entryPoints: [...this.eps.values()].map((e) => e.address),
      pollIntervalMs: this.settings.blockPollIntervalMs,
      historyBlocks: this.settings.chainHistoryBlocks,
      hub: this.hub,
      logger: this.log,
      blockSource: o.blockSource,
      handler: {
        apply: (b) => this.applyBlock(b),
        unwind: (b) => this.unwindBlock(b),
        prune: () => undefined, // the apply script prunes Redis's window
      },
      decay: {
        intervalMs: this.settings.reputation.decayIntervalMs,
        run: () => {
          for (const ep of this.eps.values()) {
            ep.reputation
              .decay()
              .catch((err) => this.log.warn({ err: errorMessage(err) }, 'reputation decay failed'))
          }
        },
      },
    })
  }

  /** Follows the chain from where Redis's watermark left off (within the window), then from the head. */
  async start(): Promise<void> {
    if (this.chain.started) return
    await this.checkShards()
    await this.chain.start((latest) => this.missedBlocks(latest))
  }

  private checkShards(): Promise<void> {
    return checkShardCount(this.redis, this.namespace, this.settings.numShards)
  }

  /** Claims on op senders for this process's builders (one heartbeat per process). */
  claims(): OpClaims {
    this.senderClaims ??= new RedisClaims({
      redis: this.redis,
      prefixOf: (entryPoint) => this.ep(entryPoint).store.prefix,
      logger: this.log,
    })
    return this.senderClaims
  }

  async stop(): Promise<void> {
    await this.senderClaims?.close()
    await this.chain.stop()
    this.redis.disconnect()
  }

  processBlock(header: BlockHeader): Promise<void> {
    return this.chain.processBlock(header)
  }

  baseFee(): bigint {
    return this.chain.baseFee()
  }

  // ---- Pool ----

  async addOp(entryPoint: Address, given: UserOperation): Promise<Hash> {
    const ep = this.ep(entryPoint)
    const op = await withPooledDelegate(this.client, ep.module, given)
    const hash = ep.module.hash(op, this.settings.chainId)
    if (await this.reach(ep.store.has(hash))) {
      throw refuse.alreadyPooled(hash)
    }
    const validation = await this.validator.validate(ep.address, op)
    const poolOp: PoolOp = {
      hash,
      entryPoint: ep.address,
      op,
      aggregator: validation.aggregator?.address,
      seq: 0,
      validation,
    }
    if (await this.reach(isMined(ep.store, hash))) {
      throw refuse.alreadyMined(hash)
    }
    const entry = toEntry(poolOp, this.settings.numShards, this.chain.tracker.tip()?.number ?? 0n)
    const evicted = await this.reach(admit(ep.store, ep.reputation, entry, this.settings))
    if (evicted) this.log.info({ hash: evicted, by: hash }, 'pool: evicted lowest-paying op')
    this.log.debug({ hash, sender: op.sender, nonce: op.nonce }, 'pool: op added')
    return hash
  }

  async getOps(q: GetOpsQuery): Promise<PoolOp[]> {
    const ep = this.ep(q.entryPoint)
    checkShardIndex(q.shardIndex, this.settings.numShards)
    if (!Number.isSafeInteger(q.maxOps) || q.maxOps < 0) {
      throw new RpcError(RpcCode.InvalidParams, `maxOps must be a non-negative integer, got ${q.maxOps}`)
    }
    return this.reach(ep.store.best(q.shardIndex, q.maxOps))
  }

  async removeOps(entryPoint: Address, hashes: Hash[]): Promise<void> {
    await this.reach(this.ep(entryPoint).store.remove(hashes))
  }

  async updateEntities(entryPoint: Address, updates: EntityUpdate[]): Promise<void> {
    const ep = this.ep(entryPoint)
    for (const u of updates) {
      const address = u.entity.address
      switch (u.kind) {
        case 'staked_invalidation':
        case 'unstaked_invalidation':
          await this.reach(
            ep.reputation.write(u.kind === 'staked_invalidation' ? 'staked' : 'unstaked', [address]),
          )
          await this.reach(ep.store.involving(address).then((ops) => ep.store.remove(ops.map((o) => o.hash))))
          break
        case 'paymaster_ops_seen_decrement':
          await this.reach(ep.reputation.write('seen_dec', [address]))
          break
        default: {
          const never: never = u.kind
          throw new RpcError(RpcCode.InvalidParams, `unknown entity update ${String(never)}`)
        }
      }
    }
  }

  subscribeNewHeads(addresses: Address[]): AsyncIterable<NewHead> {
    return this.hub.subscribe(addresses.map((a) => getAddress(a)))
  }

  // ---- PoolQuery ----

  async getOp(hash: Hash): Promise<PoolOp | undefined> {
    for (const ep of this.eps.values()) {
      const op = await this.reach(ep.store.get(hash))
      if (op) return op
    }
    return undefined
  }

  async getMinedOp(hash: Hash): Promise<MinedOpInfo | undefined> {
    for (const ep of this.eps.values()) {
      const m = await this.reach(minedOp(ep.store, hash))
      if (m) return m
    }
    return undefined
  }

  async isCurrent(): Promise<boolean> {
    const tip = this.chain.tracker.tip()
    if (!tip || this.backlog.length > 0) return false
    return tip.number >= (await this.client.getBlockNumber({ cacheTime: 0 }))
  }

  // ---- PoolDebug ----

  async dumpMempool(entryPoint: Address): Promise<PoolOp[]> {
    return this.reach(this.ep(entryPoint).store.dump())
  }

  async clearMempool(): Promise<void> {
    for (const ep of this.eps.values()) await this.reach(ep.store.clear())
  }

  async clearState(): Promise<void> {
    await this.clearMempool()
    await this.clearReputation()
  }

  async dumpReputation(entryPoint: Address): Promise<ReputationEntry[]> {
    return this.reach(this.ep(entryPoint).reputation.dump())
  }

  async setReputation(entryPoint: Address, entries: ReputationEntry[]): Promise<void> {
    try {
      await this.reach(this.ep(entryPoint).reputation.set(entries))
    } catch (err) {
      if (err instanceof RangeError) throw new RpcError(RpcCode.InvalidParams, err.message)
      throw err
    }
  }

  async clearReputation(): Promise<void> {
    for (const ep of this.eps.values()) await this.reach(ep.reputation.clear())
  }

  async getStakeStatus(entryPoint: Address, address: Address): Promise<StakeStatus> {
    return readStakeStatus(this.client, this.ep(entryPoint), address, this.settings)
  }

  /** Why an op left the pool without being mined, when this process's sweep dropped it. */
  droppedReason(hash: Hash): string | undefined {
    return this.authorizations.droppedReason(hash)
  }

  /** Resolves once the authorization sweeps queued so far are done (tests). */
  settled(): Promise<void> {
    return this.authorizations.settled()
  }

  // ---- chain events ----

  /**
   * A block Redis cannot take now (unreachable) waits in the backlog: new heads still reach the
   * builders, and the pool catches up in order once Redis answers.
   */
  private async applyBlock(b: BlockData): Promise<undefined> {
    this.backlog.push(b)
    try {
      while (this.backlog.length > 0) {
        const next = this.backlog[0] as BlockData
        for (const ep of this.eps.values()) {
          const mined = next.mined.filter((m) => m.entryPoint.toLowerCase() === ep.address.toLowerCase())
          if (await applyBlock(ep.store, next.header, mined, this.settings.chainHistoryBlocks, this.log)) {
            await this.dropStaleThrottled(ep, next.header.number)
            if (ep.module.eip7702) {
              this.authorizations.schedule(
                next.header.number,
                () => ep.store.authorized(),
                async (hash) => (await ep.store.remove([hash])) > 0,
              )
            }
          }
        }
        this.backlog.shift()
      }
    } catch (err) {
      this.log.warn(
        { err: errorMessage(err), block: b.header.number, waiting: this.backlog.length },
        'redis pool: block not applied yet (Redis unreachable?)',
      )
    }
    return undefined
  }

  private async unwindBlock(b: TrackedBlock<undefined>): Promise<void> {
    const i = this.backlog.findIndex((x) => x.header.hash === b.header.hash)
    if (i >= 0) {
      this.backlog.splice(i) // never reached Redis
      return
    }
    for (const ep of this.eps.values()) await unwindBlock(ep.store, b.header)
  }

  /** THROTTLED_ENTITY_LIVE_BLOCKS: ops of a throttled entity may not linger in the mempool. */
  private async dropStaleThrottled(ep: EntryPointState, blockNumber: bigint): Promise<void> {
    const live = BigInt(this.settings.reputation.throttledEntityLiveBlocks)
    for (const address of await ep.reputation.throttled()) {
      const stale = (await ep.store.involving(address)).filter((o) => o.addedAtBlock + live <= blockNumber)
      await ep.store.remove(stale.map((o) => o.hash))
    }
  }

  /** Blocks between Redis's watermark and `latest` (exclusive) that no process applied, within the window. */
  private async missedBlocks(latest: bigint): Promise<bigint[]> {
    let applied = -1n
    for (const ep of this.eps.values()) {
      for (const n of (await appliedBlocks(ep.store)).keys()) if (n > applied) applied = n
    }
    if (applied < 0n || applied >= latest) return []
    const from = applied + 1n > latest - BigInt(this.settings.chainHistoryBlocks) ? applied + 1n : latest
    const out: bigint[] = []
    for (let n = from; n < latest; n++) out.push(n)
    return out
  }

  /** Redis errors become a JSON-RPC error saying the pool store is unreachable (never a hang or a 5xx). */
  private async reach<T>(p: Promise<T>): Promise<T> {
    try {
      return await p
    } catch (err) {
      if (err instanceof RpcError || err instanceof RangeError) throw err
      throw new RpcError(
        RpcCode.InternalError,
        `the mempool store (Redis) is unavailable: ${errorMessage(err)}`,
      )
    }
  }

  private ep(entryPoint: Address): EntryPointState {
    const ep = this.eps.get(entryPoint.toLowerCase())
    if (!ep) {
      throw new RpcError(
        RpcCode.InvalidParams,
        `EntryPoint ${entryPoint} is not supported; this pool serves ${[...this.eps.values()].map((e) => e.address).join(', ')}`,
      )
    }
    return ep
  }
}
