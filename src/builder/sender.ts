import type { Address, Hash, PublicClient } from 'viem'
import { keccak256 } from 'viem'
import { opsInCalldata } from '../chain/bundle-calldata.js'
import { versionOf } from '../chain/entrypoint.js'
import { unpackUserOp, userOpHash } from '../chain/userop.js'
import type { Pool } from '../pool/types.js'
import { type Logger, silentLogger } from '../util/log.js'
import type { Proposal } from './bundle.js'
import { type Bundle, bundleOps } from './bundle.js'
import { rejectChangedOps } from './condition.js'
import { latestTx } from './machine/tracking.js'
import { start, transition } from './machine/transition.js'
import type {
  BundleResult,
  BundlingMode,
  MachineSettings,
  MinedTx,
  SenderEffect,
  SenderEvent,
  SenderState,
  Step,
} from './machine/types.js'
import type { ProposeRequest } from './proposer.js'
import { SenderMetrics } from './sender-metrics.js'
import { describeSender, type SenderStatus } from './sender-status.js'
import type { BalanceMonitor } from './signer/balance.js'
import type { SignerLease, SignerManager } from './signer/types.js'
import { SendError, type TransactionSender } from './submit/types.js'
import { ChainTracker, type LeftoverTx } from './tracker.js'

export type { SenderStatus } from './sender-status.js'

export interface BundleSenderSettings extends MachineSettings {
  /** Auto mode: build when this long has passed without a bundle attempt, even with no new block. */
  bundleMaxSendIntervalMillis: number
  mode: BundlingMode
}

export interface BundleSenderDeps {
  index: number
  chainId: number
  entryPoints: Address[]
  proposer: { propose(req: ProposeRequest): Promise<Proposal> }
  pool: Pick<Pool, 'addOp' | 'removeOps' | 'subscribeNewHeads'>
  signers: SignerManager
  submitter: TransactionSender
  client: PublicClient
  settings: BundleSenderSettings
  logger?: Logger
  metrics?: SenderMetrics
  balances?: BalanceMonitor
  /** Told the sender's status after every step of its machine (the status page, metrics). */
  onStatus?: (status: SenderStatus) => void
}

interface SentInfo {
  entryPoint: Address
  opHashes: Hash[]
  sentBlock: bigint
  /** From its receipt, once seen mined. */
  reverted?: boolean
}

/**
 * The driver of one bundle sender: it feeds events (new heads, triggers, answers) to the pure
 * state machine one at a time and performs the effects it returns. One signer lease at a time;
 * losing the lease ends the run and the sender starts over with a fresh lease and nonce.
 */
export class BundleSender {
  private state?: SenderState
  private readonly queue: SenderEvent[] = []
  private wake?: () => void
  private mode: BundlingMode
  private lastProposal?: Bundle
  private readonly sent = new Map<Hash, SentInfo>()
  private readonly waiting: ((r: BundleResult) => void)[] = []
  private epCursor = 0
  private lease?: SignerLease
  private tracker?: ChainTracker
  private timer?: NodeJS.Timeout
  private readonly abort = new AbortController()
  private running?: Promise<void>
  private readonly log: Logger
  private readonly metrics: SenderMetrics

  constructor(private readonly deps: BundleSenderDeps) {
    this.mode = deps.settings.mode
    this.log = (deps.logger ?? silentLogger).child({ sender: deps.index })
    this.metrics = deps.metrics ?? new SenderMetrics()
  }

  start(): void {
    this.running ??= this.runForever()
  }

  async stop(): Promise<void> {
    this.abort.abort()
    this.kick()
    clearTimeout(this.timer)
    await this.running
    for (const w of this.waiting.splice(0)) w({ kind: 'failed', reason: 'bundler stopping' })
  }

  /** debug_bundler_sendBundleNow: resolves when this cycle ends (mined, or why there is none). */
  sendBundleNow(): Promise<BundleResult> {
    return new Promise((resolve) => {
      this.waiting.push(resolve)
      this.push({ kind: 'trigger', source: 'manual' })
    })
  }

  setMode(mode: BundlingMode): void {
    this.mode = mode
    this.push({ kind: 'setMode', mode })
    this.armTimer()
  }

  status(): SenderStatus {
    const signer = this.lease?.signer.address
    return describeSender(this.state, {
      index: this.deps.index,
      mode: this.mode,
      maxBlocksToWaitForMine: this.deps.settings.maxBlocksToWaitForMine,
      signer,
      keyId: this.lease?.keyId,
      balance: signer ? this.deps.balances?.balanceOf(signer) : undefined,
    })
  }

  // ---- the run loop ----

  private async runForever(): Promise<void> {
    while (!this.abort.signal.aborted) {
      try {
        this.lease = await this.deps.signers.acquire(this.deps.index, { signal: this.abort.signal })
      } catch (err) {
        if (this.abort.signal.aborted) return
        this.log.warn({ err: String(err) }, 'no signer lease; retrying')
        await sleep(1000, this.abort.signal)
        continue
      }
      try {
        await this.runWithLease(this.lease)
      } catch (err) {
        this.log.error({ err }, 'bundle sender run failed; starting over')
        await sleep(1000, this.abort.signal)
      } finally {
        if (this.lease.isValid()) await this.lease.release().catch(() => undefined)
      }
    }
  }

  private async runWithLease(lease: SignerLease): Promise<void> {
    const address = lease.signer.address
    const tracker = new ChainTracker(this.deps.client, address)
    this.tracker = tracker
    const ended = anySignal([this.abort.signal, lease.lost])
    ended.addEventListener('abort', () => this.kick(), { once: true })
    this.queue.length = 0
    this.sent.clear()

    this.apply(start(this.mode))
    this.log.info({ signer: address }, 'bundle sender started')

    const heads = this.readHeads(address, ended)
    this.armTimer()
    while (!ended.aborted) {
      const ev = this.queue.shift()
      if (!ev) {
        await new Promise<void>((r) => {
          this.wake = r
        })
        continue
      }
      if (this.state) this.apply(transition(this.state, ev, this.deps.settings))
    }
    if (!this.abort.signal.aborted) this.log.warn({ reason: String(lease.lost.reason) }, 'signer lease lost')
    await heads
  }

  private apply(step: Step): void {
    this.state = step.state
    for (const effect of step.effects) this.perform(effect)
    this.deps.onStatus?.(this.status())
  }

  private push(ev: SenderEvent): void {
    this.queue.push(ev)
    this.kick()
  }

  private kick(): void {
    const w = this.wake
    this.wake = undefined
    w?.()
  }

  /** Every new head of the pool, in order, with receipts of ours and a dropped check after it. */
  private async readHeads(address: Address, ended: AbortSignal): Promise<void> {
    const sub = this.deps.pool.subscribeNewHeads([address])[Symbol.asyncIterator]()
    // Ending the run (stop, lost lease) must not wait for another block: a quiet chain may have none.
    const close = () => void sub.return?.()
    ended.addEventListener('abort', close, { once: true })
    try {
      for await (const head of { [Symbol.asyncIterator]: () => sub }) {
        if (ended.aborted) return
        const update = head.addressUpdates.find((u) => u.address.toLowerCase() === address.toLowerCase())
        if (update) this.deps.balances?.record(address, update.balance)
        const ours = update?.minedTxHashes.filter((h) => this.sent.has(h)) ?? []
        const receipts: MinedTx[] = []
        for (const hash of ours) {
          const r = await this.tracker?.findMined([hash]).catch(() => undefined)
          if (r) {
            receipts.push(r)
            this.observeMined(r)
          }
        }
        this.push({ kind: 'newHead', blockNumber: head.blockNumber, update, receipts })
        await this.checkDropped()
      }
    } catch (err) {
      if (!ended.aborted) this.log.error({ err }, 'new-head subscription failed')
    } finally {
      ended.removeEventListener('abort', close)
    }
  }

  /** Pending with nothing mined: a transaction the node forgot (and whose nonce did not move) is dropped. */
  private async checkDropped(): Promise<void> {
    const s = this.state
    if (!s || (s.tag !== 'Pending' && s.tag !== 'CancelPending') || !this.tracker) return
    const latest = latestTx(s.ctx.tracking)
    if (!latest) return
    try {
      const status = await this.deps.submitter.status?.(latest.hash)
      const dropped =
        status === 'dropped' ||
        (status !== 'included' &&
          status !== 'pending' &&
          !(await this.tracker.isKnown(latest.hash)) &&
          (await this.tracker.latestNonce()) <= s.ctx.tracking.nonce)
      if (dropped) this.push({ kind: 'txDropped', hash: latest.hash })
    } catch (err) {
      this.log.debug({ err: String(err) }, 'dropped check failed; will look again next block')
    }
  }

  private armTimer(): void {
    clearTimeout(this.timer)
    if (this.mode !== 'auto' || this.abort.signal.aborted) return
    this.timer = setTimeout(() => {
      this.push({ kind: 'trigger', source: 'timer' })
      this.armTimer()
    }, this.deps.settings.bundleMaxSendIntervalMillis)
    this.timer.unref()
  }

  // ---- effects ----

  private perform(effect: SenderEffect): void {
    switch (effect.kind) {
      case 'propose':
        this.armTimer()
        this.answer(this.propose(effect), (message) => ({
          kind: 'proposal',
          result: { kind: 'error', message },
        }))
        return
      case 'send':
        this.answer(this.send(effect), (message) => ({
          kind: 'sendResult',
          hash: `0x${'00'.repeat(32)}`,
          result: { kind: 'error', error: 'rejected', message },
        }))
        return
      case 'cancel':
        this.answer(this.cancel(effect), (message) => ({
          kind: 'cancelResult',
          result: { kind: 'error', error: 'rejected', message },
        }))
        return
      case 'resetNonce':
        this.answer(this.resetNonce(effect.checkHashes), (message) => ({
          kind: 'nonceReset',
          result: { kind: 'error', message },
        }))
        return
      case 'removeOps':
        this.removeOps(effect.txHash, effect.opHashes).catch((err) =>
          this.log.error({ err: errorMessage(err) }, 'removing mined ops failed'),
        )
        return
      case 'notify':
        for (const w of this.waiting.splice(0)) w(effect.result)
        return
      case 'log':
        this.log[effect.level](stringify(effect.fields), effect.msg)
        return
      case 'metric':
        this.metrics.count(effect.name, this.deps.index, effect.labels)
        return
    }
  }

  /**
   * The machine waits for exactly one answer per answer-bearing effect: an unexpected throw still
   * answers (as an error), so the machine never waits forever and the process never sees an
   * unhandled rejection.
   */
  private answer(p: Promise<SenderEvent>, onError: (message: string) => SenderEvent): void {
    p.then(
      (ev) => this.push(ev),
      (err) => {
        this.log.error({ err: errorMessage(err) }, 'sender effect failed unexpectedly')
        this.push(onError(errorMessage(err)))
      },
    )
  }

  private async propose(e: Extract<SenderEffect, { kind: 'propose' }>): Promise<SenderEvent> {
    const lease = this.lease
    if (!lease) return { kind: 'proposal', result: { kind: 'error', message: 'no signer lease' } }
    // A replacement goes to the entry point of the bundle it replaces first; otherwise rotate.
    const eps = this.deps.entryPoints
    const order = eps.map((_, i) => eps[(this.epCursor + i) % eps.length] as Address)
    let lastReason: Extract<Proposal, { kind: 'none' }>['reason'] = 'no_ops'
    try {
      for (const entryPoint of order) {
        const p = await this.deps.proposer.propose({
          entryPoint,
          signer: lease.signer.address,
          shardIndex: this.deps.index,
          feeFloor: e.feeFloor,
        })
        if (p.kind === 'bundle') {
          this.lastProposal = p.bundle
          this.epCursor = eps.indexOf(entryPoint)
          return {
            kind: 'proposal',
            result: { kind: 'bundle', opHashes: bundleOps(p.bundle).map((c) => c.hash), fees: p.fees },
          }
        }
        if (rank(p.reason) > rank(lastReason)) lastReason = p.reason
      }
      this.epCursor = (this.epCursor + 1) % eps.length
      if (lastReason === 'insufficient_balance') {
        this.log.warn(
          { signer: lease.signer.address },
          'signer balance cannot pay the next bundle; waiting to be funded',
        )
      }
      return { kind: 'proposal', result: { kind: 'none', reason: lastReason } }
    } catch (err) {
      this.log.warn({ err: String(err) }, 'proposal failed')
      return { kind: 'proposal', result: { kind: 'error', message: errorMessage(err) } }
    }
  }

  private async send(e: Extract<SenderEffect, { kind: 'send' }>): Promise<SenderEvent> {
    const bundle = this.lastProposal
    const lease = this.lease
    const noHash = `0x${'00'.repeat(32)}` as Hash
    if (!bundle || !lease) {
      return {
        kind: 'sendResult',
        hash: noHash,
        result: { kind: 'error', error: 'rejected', message: 'no bundle' },
      }
    }
    let raw: `0x${string}`
    try {
      raw = await lease.signer.signTransaction({
        type: 'eip1559',
        chainId: this.deps.chainId,
        nonce: Number(e.nonce),
        to: bundle.tx.to,
        data: bundle.tx.data,
        gas: bundle.tx.gas,
        maxFeePerGas: e.fees.maxFeePerGas,
        maxPriorityFeePerGas: e.fees.maxPriorityFeePerGas,
      })
    } catch (err) {
      // Nothing left this process: the ops stay pooled and the machine waits for the next trigger.
      this.log.warn({ err: errorMessage(err) }, 'signing the bundle failed')
      return {
        kind: 'sendResult',
        hash: noHash,
        result: { kind: 'error', error: 'rejected', message: errorMessage(err) },
      }
    }
    const hash = keccak256(raw)
    this.sent.set(hash, {
      entryPoint: bundle.entryPoint,
      opHashes: e.opHashes,
      sentBlock: this.state?.ctx.head ?? 0n,
    })
    const atBlock = await this.chainBlock()
    try {
      await this.deps.submitter.send(raw, { expectedStorage: bundle.expectedStorage })
      this.log.info(
        {
          nonce: e.nonce,
          txHash: hash,
          ops: e.opHashes.length,
          maxFeePerGas: e.fees.maxFeePerGas.toString(),
          maxPriorityFeePerGas: e.fees.maxPriorityFeePerGas.toString(),
          replacing: e.replacing,
        },
        'bundle submitted',
      )
      return { kind: 'sendResult', hash, result: { kind: 'sent' }, atBlock }
    } catch (err) {
      const kind = err instanceof SendError ? err.kind : 'unavailable'
      if (kind === 'condition_not_met') {
        // Ops whose validation storage moved leave the pool; the machine rebuilds at once without them.
        const rebuild = () => this.push({ kind: 'trigger', source: 'timer' })
        const { client, pool } = this.deps
        await rejectChangedOps({ client, pool, logger: this.log, rebuild }, bundle)
      }
      return {
        kind: 'sendResult',
        hash,
        result: { kind: 'error', error: kind, message: errorMessage(err) },
        atBlock,
      }
    }
  }

  /** The chain's latest block right now (the pool's heads may lag it); undefined if the node does not say. */
  private async chainBlock(): Promise<bigint | undefined> {
    return this.deps.client.getBlockNumber({ cacheTime: 0 }).catch(() => undefined)
  }

  private async cancel(e: Extract<SenderEffect, { kind: 'cancel' }>): Promise<SenderEvent> {
    const lease = this.lease
    if (!lease)
      return { kind: 'cancelResult', result: { kind: 'error', error: 'rejected', message: 'no lease' } }
    const atBlock = await this.chainBlock()
    try {
      const r = await this.deps.submitter.cancel(
        { nonce: e.nonce, fees: e.fees, hash: e.txHash },
        lease.signer,
      )
      if (r.kind === 'hard')
        this.sent.set(r.hash, { entryPoint: '0x', opHashes: [], sentBlock: this.state?.ctx.head ?? 0n })
      return { kind: 'cancelResult', result: r, atBlock }
    } catch (err) {
      const kind = err instanceof SendError ? err.kind : 'unavailable'
      return { kind: 'cancelResult', result: { kind: 'error', error: kind, message: errorMessage(err) } }
    }
  }

  private async resetNonce(checkHashes: Hash[]): Promise<SenderEvent> {
    const tracker = this.tracker
    if (!tracker) return { kind: 'nonceReset', result: { kind: 'error', message: 'no tracker' } }
    try {
      const mined = await tracker.findMined(checkHashes)
      const chainNonce = await tracker.latestNonce()
      if (mined) this.observeMined(mined)
      const leftover = mined ? undefined : await tracker.findLeftover().catch(() => undefined)
      const inFlight =
        leftover?.nonce === chainNonce
          ? { hash: leftover.hash, fees: leftover.fees, opHashes: await this.readmit(leftover) }
          : undefined
      return { kind: 'nonceReset', result: { kind: 'ok', chainNonce, mined, inFlight } }
    } catch (err) {
      return { kind: 'nonceReset', result: { kind: 'error', message: errorMessage(err) } }
    }
  }

  /**
   * The ops of a bundle we take over (a previous run's) are not in this run's pool: put them back,
   * so that if the bundle has to be replaced the replacement carries them instead of dropping them.
   * An op that no longer validates is refused by the pool as usual.
   */
  private async readmit(leftover: LeftoverTx): Promise<Hash[]> {
    const entryPoint = this.deps.entryPoints.find((e) => e.toLowerCase() === leftover.to?.toLowerCase())
    const packed = entryPoint && leftover.input ? opsInCalldata(leftover.input) : undefined
    if (!entryPoint || !packed) return []
    const hashes: Hash[] = []
    for (const p of packed) {
      const op = unpackUserOp(p)
      const hash = userOpHash(op, entryPoint, this.deps.chainId, versionOf(entryPoint) ?? 'v0.7')
      try {
        await this.deps.pool.addOp(entryPoint, op)
        hashes.push(hash)
      } catch (err) {
        this.log.info(
          { userOpHash: hash, err: errorMessage(err) },
          'op of a taken-over bundle not re-admitted',
        )
      }
    }
    this.log.info(
      { txHash: leftover.hash, ops: packed.length, readmitted: hashes.length },
      'taken-over bundle ops re-admitted',
    )
    return hashes
  }

  private async removeOps(txHash: Hash, opHashes: Hash[]): Promise<void> {
    const info = this.sent.get(txHash)
    if (!info || info.entryPoint === '0x') return
    // The receipt was read when the bundle was seen mined; ask again only if that read failed.
    const reverted =
      info.reverted ?? (await this.tracker?.findMined([txHash]).catch(() => undefined))?.reverted
    // A reverted bundle executed none of its ops: they stay pooled (the pool's own chain tracking
    // removes whatever the EntryPoint really reported).
    if (reverted) {
      this.log.error({ txHash }, 'bundle mined but reverted; its ops stay in the pool')
      return
    }
    await this.deps.pool
      .removeOps(info.entryPoint, opHashes)
      .catch((err) => this.log.warn({ err }, 'removeOps failed'))
  }

  private observeMined(r: MinedTx & { reverted: boolean }): void {
    const info = this.sent.get(r.hash)
    if (!info || info.entryPoint === '0x') return
    info.reverted = r.reverted
    const sender = String(this.deps.index)
    if (r.blockNumber !== undefined) {
      const first = Math.min(
        ...[...this.sent.values()].filter((s) => s.entryPoint !== '0x').map((s) => Number(s.sentBlock)),
      )
      this.metrics.blocksToMine.observe({ sender }, Math.max(0, Number(r.blockNumber) - first))
    }
    this.metrics.opsPerBundle.observe({ sender }, info.opHashes.length)
    if (r.gasUsed !== undefined) this.metrics.gasPerBundle.observe({ sender }, Number(r.gasUsed))
    this.metrics.bundleMined(this.deps.index, r.reverted, r.gasUsed)
    // The nonce moves on: forget what was sent at the old one.
    for (const h of [...this.sent.keys()]) if (h !== r.hash) this.sent.delete(h)
  }
}

/** Which no-bundle reason says the most when several entry points each had none. */
function rank(reason: Extract<Proposal, { kind: 'none' }>['reason']): number {
  return ['no_ops', 'all_rejected', 'unprofitable', 'priced_out', 'insufficient_balance'].indexOf(reason)
}

function stringify(
  fields: Record<string, string | number | bigint | boolean>,
): Record<string, string | number | boolean> {
  return Object.fromEntries(
    Object.entries(fields).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : v]),
  )
}

function errorMessage(err: unknown): string {
  const e = err as { shortMessage?: string; message?: string }
  return (e?.shortMessage ?? e?.message ?? String(err)).slice(0, 300)
}

function anySignal(signals: AbortSignal[]): AbortSignal {
  const c = new AbortController()
  for (const s of signals) {
    if (s.aborted) c.abort(s.reason)
    else s.addEventListener('abort', () => c.abort(s.reason), { once: true })
  }
  return c.signal
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms)
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t)
        resolve()
      },
      { once: true },
    )
  })
}
