import { setTimeout as delay } from 'node:timers/promises'
import type { Address, PublicClient } from 'viem'
import type { Pool } from '../pool/types.js'
import { errorMessage } from '../util/errors.js'
import { type Logger, silentLogger } from '../util/log.js'
import type { BlockShare } from './block-share.js'
import type { Bundle, Proposal } from './bundle.js'
import type { OpClaims } from './claims.js'
import { rejectChangedOps } from './condition.js'
import { EntryPointRotation } from './entry-point-rotation.js'
import { HeldClaims } from './held-claims.js'
import { start, transition } from './machine/transition.js'
import type {
  BundleResult,
  BundlingMode,
  MachineSettings,
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
import { type SubmissionDeps, submitBundle, submitCancellation } from './submission.js'
import type { TransactionSender } from './submit/types.js'
import { readmitBundleOps } from './tracker/takeover.js'
import { TransactionTracker } from './tracker/transaction-tracker.js'

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
  /** The status node. */
  client: PublicClient
  settings: BundleSenderSettings
  logger?: Logger
  metrics?: SenderMetrics
  balances?: BalanceMonitor
  /** Told the sender's status after every step of its machine (the status page, metrics). */
  onStatus?: (status: SenderStatus) => void
  /** Sender claims across processes sharing the pool (see claims.ts). */
  claims?: OpClaims
  /** The block space this process's senders share: told each mined bundle's gas limit and use. */
  blockShare?: BlockShare
}

/** What the driver holds for one signer lease. */
interface Run {
  lease: SignerLease
  tracker: TransactionTracker
  submission: SubmissionDeps
}

/**
 * The driver of one bundle sender: it waits (pool heads, the send-interval timer, sendBundleNow),
 * feeds each event to the pure state machine (machine/) one at a time, and performs the effects
 * the machine returns through named modules: the EntryPoint rotation and the proposer, signing
 * and submission, the transaction tracker's node reads, the condition re-check. It decides
 * nothing itself. One signer lease at a time; losing the lease ends the run and the sender starts
 * over with a fresh lease and nonce.
 */
export class BundleSender {
  private state?: SenderState
  private readonly queue: SenderEvent[] = []
  private wake?: () => void
  private mode: BundlingMode
  /** The bundle of the last proposal: the one a `send` effect signs. */
  private bundle?: Bundle
  private readonly waiting: ((r: BundleResult) => void)[] = []
  private run?: Run
  private timer?: NodeJS.Timeout
  private readonly abort = new AbortController()
  private running?: Promise<void>
  private readonly rotation: EntryPointRotation
  /** Sender claims across processes: held for the bundles sent at the current nonce. */
  private readonly claims?: HeldClaims
  private readonly log: Logger
  private readonly metrics: SenderMetrics

  constructor(private readonly deps: BundleSenderDeps) {
    this.mode = deps.settings.mode
    this.log = (deps.logger ?? silentLogger).child({ sender: deps.index })
    this.metrics = deps.metrics ?? new SenderMetrics()
    this.rotation = new EntryPointRotation(deps.entryPoints, deps.proposer)
    if (deps.claims) this.claims = new HeldClaims(deps.claims, this.log)
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
    const signer = this.run?.lease.signer.address
    return describeSender(this.state, {
      index: this.deps.index,
      mode: this.mode,
      maxBlocksToWaitForMine: this.deps.settings.maxBlocksToWaitForMine,
      signer,
      keyId: this.run?.lease.keyId,
      balance: signer ? this.deps.balances?.balanceOf(signer) : undefined,
    })
  }

  // ---- waiting ----

  private async runForever(): Promise<void> {
    const signal = this.abort.signal
    while (!signal.aborted) {
      let lease: SignerLease
      try {
        lease = await this.deps.signers.acquire(this.deps.index, { signal })
      } catch (err) {
        if (signal.aborted) return
        this.log.warn({ err: errorMessage(err) }, 'no signer lease; retrying')
        await pause(1000, signal)
        continue
      }
      try {
        await this.runWithLease(lease)
      } catch (err) {
        this.log.error({ err }, 'bundle sender run failed; starting over')
        await pause(1000, signal)
      } finally {
        if (lease.isValid()) await lease.release().catch(() => undefined)
      }
    }
  }

  private async runWithLease(lease: SignerLease): Promise<void> {
    const { deps, log } = this
    const address = lease.signer.address
    const tracker = new TransactionTracker({
      client: deps.client,
      address,
      submitter: deps.submitter,
      readmit: (tx) => readmitBundleOps({ ...deps, logger: log }, tx),
    })
    const chainBlock = () => tracker.chainBlock()
    this.run = { lease, tracker, submission: { ...deps, chainBlock, logger: log } }
    const ended = AbortSignal.any([this.abort.signal, lease.lost])
    ended.addEventListener('abort', () => this.kick(), { once: true })
    this.queue.length = 0

    this.apply(start(this.mode))
    log.info({ signer: address }, 'bundle sender started')
    const heads = this.readHeads(address, tracker, ended)
    this.armTimer()
    while (!ended.aborted) {
      const ev = this.queue.shift()
      if (!ev) {
        await new Promise<void>((r) => {
          this.wake = r
        })
        continue
      }
      if (this.state) this.apply(transition(this.state, ev, deps.settings))
    }
    if (!this.abort.signal.aborted) log.warn({ reason: String(lease.lost.reason) }, 'signer lease lost')
    await heads
    await this.claims?.release(address)
  }

  private apply(step: Step): void {
    this.state = step.state
    for (const effect of step.effects) this.perform(effect)
    if (this.run && this.state) this.claims?.settle(this.run.lease.signer.address, this.state)
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

  /** Every new head of the pool, in order, with the receipts of the signer's transactions mined in it. */
  private async readHeads(address: Address, tracker: TransactionTracker, ended: AbortSignal): Promise<void> {
    const sub = this.deps.pool.subscribeNewHeads([address])[Symbol.asyncIterator]()
    // Ending the run (stop, lost lease) must not wait for another block: a quiet chain may have none.
    const close = () => void sub.return?.()
    ended.addEventListener('abort', close, { once: true })
    try {
      for await (const head of { [Symbol.asyncIterator]: () => sub }) {
        if (ended.aborted) return
        const update = head.addressUpdates.find((u) => u.address.toLowerCase() === address.toLowerCase())
        if (update) this.deps.balances?.record(address, update.balance)
        const receipts = update ? await tracker.receipts(update.minedTxHashes) : []
        for (const r of receipts) this.deps.blockShare?.mined(r.hash, r.gasUsed)
        this.push({ kind: 'newHead', blockNumber: head.blockNumber, update, receipts })
      }
    } catch (err) {
      if (!ended.aborted) this.log.error({ err }, 'new-head subscription failed')
    } finally {
      ended.removeEventListener('abort', close)
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
    const run = this.run
    if (!run) return
    switch (effect.kind) {
      case 'propose':
        this.armTimer()
        this.answer(this.propose(run, effect), (message) => ({
          kind: 'proposal',
          result: { kind: 'error', message },
        }))
        return
      case 'send': {
        const bundle = this.bundle
        if (bundle) this.claims?.hold(bundle)
        const sent = bundle
          ? submitBundle(run.submission, run.lease.signer, bundle, effect)
          : Promise.reject(new Error('no proposed bundle to send'))
        if (bundle && this.deps.blockShare) {
          const share = this.deps.blockShare
          sent
            .then((ev) => ev.kind === 'sendResult' && ev.hash && share.sent(ev.hash, bundle.tx.gas))
            .catch(() => {})
        }
        this.answer(sent, (message) => ({
          kind: 'sendResult',
          result: { kind: 'error', error: 'rejected', message },
        }))
        return
      }
      case 'cancel':
        this.answer(submitCancellation(run.submission, run.lease.signer, effect), (message) => ({
          kind: 'cancelResult',
          result: { kind: 'error', error: 'rejected', message },
        }))
        return
      case 'resetNonce':
        this.answer(
          run.tracker.sync(effect.checkHashes).then((result) => ({ kind: 'nonceReset', result })),
          (message) => ({ kind: 'nonceReset', result: { kind: 'error', message } }),
        )
        return
      case 'checkTx':
        run.tracker.observe(effect.hash).then(
          (observation) => this.push({ kind: 'txObserved', hash: effect.hash, observation }),
          (err) =>
            this.log.debug({ err: errorMessage(err) }, 'transaction check failed; asked again next block'),
        )
        return
      case 'recheckOps':
        this.answer(this.recheck(), () => ({ kind: 'opsRechecked', removed: 0 }))
        return
      case 'removeOps':
        if (!effect.entryPoint) return
        this.deps.pool
          .removeOps(effect.entryPoint, effect.opHashes)
          .catch((err) => this.log.warn({ err: errorMessage(err) }, 'removing mined ops failed'))
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
      case 'measure':
        this.metrics.observe(effect.name, this.deps.index, effect.value)
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

  private async propose(run: Run, e: Extract<SenderEffect, { kind: 'propose' }>): Promise<SenderEvent> {
    const signer = run.lease.signer.address
    try {
      this.claims?.proposing()
      const p = await this.rotation.propose({ signer, shardIndex: this.deps.index, feeFloor: e.feeFloor })
      this.bundle = p.bundle
      if (p.result.kind === 'none' && p.result.reason === 'insufficient_balance') {
        this.log.warn({ signer }, 'signer balance cannot pay the next bundle; waiting to be funded')
      }
      return { kind: 'proposal', result: p.result }
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'proposal failed')
      return { kind: 'proposal', result: { kind: 'error', message: errorMessage(err) } }
    }
  }

  private async recheck(): Promise<SenderEvent> {
    const bundle = this.bundle
    if (!bundle) return { kind: 'opsRechecked', removed: 0 }
    const { client, pool } = this.deps
    const removed = await rejectChangedOps({ client, pool, logger: this.log }, bundle)
    return { kind: 'opsRechecked', removed: removed.length }
  }
}

function stringify(
  fields: Record<string, string | number | bigint | boolean>,
): Record<string, string | number | boolean> {
  return Object.fromEntries(
    Object.entries(fields).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : v]),
  )
}

/** Waits `ms`, or less when `signal` aborts (never throws). */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal }).catch(() => undefined)
}
