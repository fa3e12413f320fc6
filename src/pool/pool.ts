import { type Address, getAddress, type Hash, type PublicClient, zeroAddress } from 'viem'
import { entryPointFor } from '../chain/entrypoint/registry.js'
import type { EntryPointModule } from '../chain/entrypoint/types.js'
import type { UserOperation } from '../chain/userop.js'
import type { Validator } from '../sim/types.js'
import { RpcCode, RpcError } from '../util/errors.js'
import { type Logger, silentLogger } from '../util/log.js'
import { planAdmission } from './admission.js'
import { refuse } from './admission-errors.js'
import { ChainFollower } from './chain-follower.js'
import type { BlockHeader, TrackedBlock } from './chain-history.js'
import type { BlockData } from './chain-tracker.js'
import { withPooledDelegate } from './eip7702-rules.js'
import { AuthorizationSweep } from './eip7702-sweep.js'
import { type PoolEntry, toEntry } from './entry.js'
import { Mempool } from './mempool.js'
import { NewHeadHub } from './new-heads.js'
import { Reputation } from './reputation.js'
import { type PoolSettings, type PoolSettingsInput, poolSettings } from './settings.js'
import { checkShardIndex } from './shard.js'
import { readStakeStatus } from './stake-status.js'
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
} from './types.js'

export interface LocalPoolOptions {
  settings: PoolSettingsInput
  client: PublicClient
  validator: Validator
  entryPoints: Address[]
  /** Where blocks come from (e.g. the BlockWatcher); default: poll the client's latest block. */
  blockSource?: (signal: AbortSignal) => AsyncIterable<BlockHeader>
  logger?: Logger
}

/** What undoing one block needs: the mined ops it took out of the pool and whose opsIncluded it bumped. */
interface BlockRecord {
  mined: { info: MinedOpInfo | undefined; hash: Hash; entryPoint: Address; returned?: PoolEntry }[]
  included: { entryPoint: string; address: Address }[]
}

interface EntryPointState {
  address: Address
  module: EntryPointModule
  mempool: Mempool
  reputation: Reputation
}

/**
 * The in-process Pool: per-EntryPoint mempools with ERC-7562 reputation, fed by a chain tracker that
 * removes mined ops, returns them on reorgs and publishes new heads.
 */
export class LocalPool implements Pool, PoolQuery, PoolDebug {
  readonly settings: PoolSettings
  private readonly eps = new Map<string, EntryPointState>()
  private readonly client: PublicClient
  private readonly validator: Validator
  private readonly log: Logger
  private readonly hub = new NewHeadHub()
  private readonly chain: ChainFollower<BlockRecord>
  private readonly minedOps = new Map<string, MinedOpInfo>()
  private seq = 0
  private readonly authorizations: AuthorizationSweep

  constructor(o: LocalPoolOptions) {
    this.settings = poolSettings(o.settings)
    this.client = o.client
    this.validator = o.validator
    this.log = o.logger ?? silentLogger
    this.authorizations = new AuthorizationSweep({ client: o.client, log: this.log })
    for (const a of o.entryPoints) {
      const module = entryPointFor(a)
      if (!module) throw new Error(`unknown EntryPoint ${a}: Conveyor serves v0.6, v0.7, v0.8 and v0.9`)
      this.eps.set(a.toLowerCase(), {
        address: getAddress(a),
        module,
        mempool: new Mempool(getAddress(a), this.settings.numShards),
        reputation: new Reputation(this.settings.reputation),
      })
    }
    this.chain = new ChainFollower<BlockRecord>({
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
        prune: (b) => this.pruneBlock(b),
      },
      decay: {
        intervalMs: this.settings.reputation.decayIntervalMs,
        run: () => {
          for (const ep of this.eps.values()) ep.reputation.decay()
        },
      },
    })
  }

  /** Processes the current head before returning (a known block and base fee), then follows the chain. */
  async start(): Promise<void> {
    await this.chain.start()
  }

  async stop(): Promise<void> {
    await this.chain.stop()
  }

  /** Feeds one block to the tracker directly (tests, or a caller that owns the block stream). */
  processBlock(header: BlockHeader): Promise<void> {
    return this.chain.processBlock(header)
  }

  /** The base fee the pool orders by (the latest processed block's). */
  baseFee(): bigint {
    return this.chain.baseFee()
  }

  // ---- Pool ----

  async addOp(entryPoint: Address, given: UserOperation): Promise<Hash> {
    const ep = this.ep(entryPoint)
    const op = await withPooledDelegate(this.client, ep.module, given)
    const hash = ep.module.hash(op, this.settings.chainId)
    if (ep.mempool.get(hash)) throw refuse.alreadyPooled(hash)
    const validation = await this.validator.validate(ep.address, op)
    const poolOp: PoolOp = {
      hash,
      entryPoint: ep.address,
      op,
      aggregator: validation.aggregator?.address,
      seq: this.seq++,
      validation,
    }
    // Mined while it was being simulated (the tracker runs concurrently): nothing left to bundle.
    if (this.minedOps.has(hash.toLowerCase())) throw refuse.alreadyMined(hash)
    const entry = toEntry(poolOp, this.settings.numShards, this.chain.tracker.tip()?.number ?? 0n)
    // Synchronous from here: the rules are checked against the pool as it is now and applied at once.
    const plan = planAdmission(entry, ep.mempool, ep.reputation, this.settings)
    if (plan.replaces) ep.mempool.remove(plan.replaces)
    if (plan.evicts) {
      ep.mempool.remove(plan.evicts)
      this.log.info({ hash: plan.evicts.op.hash, by: hash }, 'pool: evicted lowest-paying op')
    }
    ep.mempool.insert(entry)
    ep.reputation.addSeen(op.sender)
    for (const ent of entry.entities) ep.reputation.addSeen(ent.address)
    this.log.debug(
      { hash, sender: op.sender, nonce: op.nonce, replaced: plan.replaces?.op.hash },
      'pool: op added',
    )
    return hash
  }

  async getOps(q: GetOpsQuery): Promise<PoolOp[]> {
    const ep = this.ep(q.entryPoint)
    checkShardIndex(q.shardIndex, this.settings.numShards)
    if (!Number.isSafeInteger(q.maxOps) || q.maxOps < 0) {
      throw new RpcError(RpcCode.InvalidParams, `maxOps must be a non-negative integer, got ${q.maxOps}`)
    }
    return ep.mempool.fees.best(q.shardIndex, q.maxOps).map((e) => e.op)
  }

  async removeOps(entryPoint: Address, hashes: Hash[]): Promise<void> {
    const ep = this.ep(entryPoint)
    for (const h of hashes) {
      const e = ep.mempool.get(h)
      if (e) ep.mempool.remove(e)
    }
  }

  async updateEntities(entryPoint: Address, updates: EntityUpdate[]): Promise<void> {
    const ep = this.ep(entryPoint)
    for (const u of updates) {
      const address = u.entity.address
      switch (u.kind) {
        case 'staked_invalidation':
          ep.reputation.penalizeStaked(address)
          this.removeInvolving(ep, address)
          break
        case 'unstaked_invalidation':
          ep.reputation.penalizeUnstaked(address)
          this.removeInvolving(ep, address)
          break
        case 'paymaster_ops_seen_decrement':
          ep.reputation.decrementSeen(address)
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
      const e = ep.mempool.get(hash)
      if (e) return e.op
    }
    return undefined
  }

  async getMinedOp(hash: Hash): Promise<MinedOpInfo | undefined> {
    return this.minedOps.get(hash.toLowerCase())
  }

  async isCurrent(): Promise<boolean> {
    const tip = this.chain.tracker.tip()
    if (!tip) return false
    return tip.number >= (await this.client.getBlockNumber({ cacheTime: 0 }))
  }

  // ---- PoolDebug ----

  async dumpMempool(entryPoint: Address): Promise<PoolOp[]> {
    return this.ep(entryPoint).mempool.dump()
  }

  async clearMempool(): Promise<void> {
    for (const ep of this.eps.values()) ep.mempool.clear()
  }

  async clearState(): Promise<void> {
    await this.clearMempool()
    await this.clearReputation()
  }

  async dumpReputation(entryPoint: Address): Promise<ReputationEntry[]> {
    return this.ep(entryPoint).reputation.dump()
  }

  async setReputation(entryPoint: Address, entries: ReputationEntry[]): Promise<void> {
    try {
      this.ep(entryPoint).reputation.set(entries)
    } catch (err) {
      if (err instanceof RangeError) throw new RpcError(RpcCode.InvalidParams, err.message)
      throw err
    }
  }

  async clearReputation(): Promise<void> {
    for (const ep of this.eps.values()) ep.reputation.clear()
  }

  async getStakeStatus(entryPoint: Address, address: Address): Promise<StakeStatus> {
    return readStakeStatus(this.client, this.ep(entryPoint), address, this.settings)
  }

  // ---- chain events ----

  private applyBlock(b: BlockData): BlockRecord {
    const baseFee = b.header.baseFeePerGas ?? 0n
    for (const ep of this.eps.values()) ep.mempool.fees.setBaseFee(baseFee)
    const record: BlockRecord = { mined: [], included: [] }
    for (const m of b.mined) {
      const ep = this.eps.get(m.entryPoint.toLowerCase())
      if (!ep) continue
      const pooled = ep.mempool.get(m.hash)
      // The op leaves the pool, and so does anything at the nonce it used (or earlier in its key).
      for (const stale of ep.mempool.staleAfterMined(m.sender, m.nonce)) ep.mempool.remove(stale)
      if (pooled) ep.mempool.remove(pooled)
      const op = m.op ?? pooled?.op.op
      const info: MinedOpInfo | undefined = op ? { ...m, op } : undefined
      if (info) this.minedOps.set(m.hash.toLowerCase(), info)
      record.mined.push({ info, hash: m.hash, entryPoint: ep.address, returned: pooled })
      // An op the builder already took out (it removes a bundle's ops on its receipt, often before
      // this block is applied) still credits its factory: without that an unstaked factory of many
      // new accounts reads as never included and is throttled under load.
      const included = pooled
        ? [pooled.op.op.sender, ...pooled.entities.map((e) => e.address)]
        : [
            m.sender,
            ...(op?.factory ? [op.factory] : []),
            ...(m.paymaster !== zeroAddress ? [m.paymaster] : []),
          ]
      for (const address of included) {
        ep.reputation.addIncluded(address)
        record.included.push({ entryPoint: ep.address.toLowerCase(), address })
      }
    }
    this.dropStaleThrottled(b.header.number)
    for (const ep of this.eps.values()) {
      if (!ep.module.eip7702) continue
      this.authorizations.schedule(
        b.header.number,
        async () =>
          [...ep.mempool.entries()]
            .filter((e) => e.op.op.eip7702Auth)
            .map((e) => ({ hash: e.op.hash, op: e.op.op })),
        async (hash) => {
          const e = ep.mempool.get(hash)
          if (e) ep.mempool.remove(e)
          return e !== undefined
        },
      )
    }
    return record
  }

  /** Why an op left the pool without being mined, when the pool dropped it itself (bounded memory). */
  droppedReason(hash: Hash): string | undefined {
    return this.authorizations.droppedReason(hash)
  }

  /** Resolves once the authorization sweeps of the blocks processed so far are done (tests). */
  settled(): Promise<void> {
    return this.authorizations.settled()
  }

  private unwindBlock(b: TrackedBlock<BlockRecord>): void {
    for (const m of b.record.mined) {
      const stored = this.minedOps.get(m.hash.toLowerCase())
      if (stored && stored.blockHash === b.header.hash) this.minedOps.delete(m.hash.toLowerCase())
      const ep = this.eps.get(m.entryPoint.toLowerCase())
      const e = m.returned
      // Back to the pool unless its slot was taken meanwhile.
      if (ep && e && !ep.mempool.get(e.hashKey) && !ep.mempool.at(e.senderKey, e.nonce)) ep.mempool.insert(e)
    }
    for (const i of b.record.included) this.eps.get(i.entryPoint)?.reputation.removeIncluded(i.address)
  }

  private pruneBlock(b: TrackedBlock<BlockRecord>): void {
    for (const m of b.record.mined) {
      const stored = this.minedOps.get(m.hash.toLowerCase())
      if (stored && stored.blockHash === b.header.hash) this.minedOps.delete(m.hash.toLowerCase())
    }
  }

  /** THROTTLED_ENTITY_LIVE_BLOCKS: ops of a throttled entity may not linger in the mempool. */
  private dropStaleThrottled(blockNumber: bigint): void {
    const live = BigInt(this.settings.reputation.throttledEntityLiveBlocks)
    for (const ep of this.eps.values()) {
      for (const address of ep.reputation.throttled()) {
        for (const e of ep.mempool.opsInvolving(address)) {
          if (e.addedAtBlock + live <= blockNumber) ep.mempool.remove(e)
        }
      }
    }
  }

  private removeInvolving(ep: EntryPointState, address: Address): void {
    for (const e of ep.mempool.opsInvolving(address)) ep.mempool.remove(e)
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
