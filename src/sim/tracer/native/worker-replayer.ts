import { Worker } from 'node:worker_threads'
import type { Logger } from '../../../util/log.js'
import type { TracerConfig } from '../js-source.js'
import type { RawTrace } from '../raw.js'
import type { BlockContext, ReplayCall, ReplayRules } from './replay.js'
import type { StartingState } from './replay-state.js'
import type { Replayer } from './replayer.js'

/** One replay asked of the worker. */
export interface ReplayRequest {
  id: number
  call: ReplayCall
  start: StartingState
  block: BlockContext
  config: TracerConfig
}
/** The worker's answers: ready once its engine is built, then one per request. */
export type ReplayReply = { ready: true } | { id: number; trace: RawTrace } | { id: number; error: string }

interface Pending {
  request: ReplayRequest
  resolve: (t: RawTrace) => void
  reject: (e: Error) => void
}

/** A worker that died is started again this many times; after that every replay runs in-process. */
const MAX_RESTARTS = 3

/**
 * Replays on a worker thread, so the EVM's work (a third of a safe-mode admission's CPU) leaves the
 * event loop that serves the RPC and builds bundles. Until the worker has built its engine, and
 * whenever it is gone, replays run on `local` (the in-process engine the start-up probe made), so
 * none waits on the thread starting. A replay in flight when the worker dies is run again on `local`:
 * a replay is deterministic, so no op is refused or admitted unchecked because a thread failed.
 */
export class WorkerReplayer implements Replayer {
  private worker: Worker | undefined
  private ready = false
  private closed = false
  private restarts = 0
  private nextId = 0
  private readonly pending = new Map<number, Pending>()
  private markStarted: (onWorker: boolean) => void = () => {}
  /** Settles when the first worker has built its engine (true) or stopped before that (false). */
  readonly started = new Promise<boolean>((resolve) => {
    this.markStarted = resolve
  })

  constructor(
    private readonly rules: ReplayRules,
    private readonly local: Replayer,
    private readonly log: Logger,
    private readonly script: URL = new URL('./replay-worker.mjs', import.meta.url),
  ) {
    this.spawn()
  }

  /** Whether replays go to the worker now (for tests and the start-up log). */
  get onWorker(): boolean {
    return this.ready
  }

  replay(
    call: ReplayCall,
    start: StartingState,
    block: BlockContext,
    config: TracerConfig,
  ): Promise<RawTrace> {
    const worker = this.worker
    if (!this.ready || !worker) return this.local.replay(call, start, block, config)
    const request: ReplayRequest = { id: this.nextId++, call, start, block, config }
    return new Promise<RawTrace>((resolve, reject) => {
      try {
        worker.postMessage(request)
      } catch {
        // Something in the request cannot be cloned to another thread: replay it here.
        this.local.replay(call, start, block, config).then(resolve, reject)
        return
      }
      this.pending.set(request.id, { request, resolve, reject })
    })
  }

  async close(): Promise<void> {
    this.closed = true
    const worker = this.worker
    this.worker = undefined
    this.ready = false
    if (worker) await worker.terminate()
    this.rerunPending()
    this.markStarted(false)
  }

  private spawn(): void {
    // execArgv empty: the worker registers its own TypeScript loader (a parent's would load twice).
    const worker = new Worker(this.script, { workerData: { rules: this.rules }, execArgv: [] })
    worker.unref() // never what keeps the process alive
    this.worker = worker
    worker.on('message', (m: ReplayReply) => this.answer(m))
    worker.on('error', (err) => this.log.warn({ err }, 'the replay worker failed'))
    worker.on('exit', (code) => this.exited(worker, code))
  }

  private answer(m: ReplayReply): void {
    if ('ready' in m) {
      this.ready = true
      this.markStarted(true)
      return
    }
    const p = this.pending.get(m.id)
    if (!p) return
    this.pending.delete(m.id)
    if ('trace' in m) p.resolve(m.trace)
    else p.reject(new Error(m.error))
  }

  private exited(worker: Worker, code: number): void {
    if (worker !== this.worker) return // closed, or replaced already
    this.worker = undefined
    this.ready = false
    this.rerunPending()
    this.markStarted(false)
    if (this.closed) return
    if (this.restarts >= MAX_RESTARTS) {
      this.log.error(
        { code, restarts: this.restarts },
        'the replay worker keeps stopping: replays run in-process',
      )
      return
    }
    this.restarts++
    this.log.warn({ code, restart: this.restarts }, 'the replay worker stopped: starting it again')
    this.spawn()
  }

  private rerunPending(): void {
    for (const p of this.pending.values()) {
      const r = p.request
      this.local.replay(r.call, r.start, r.block, r.config).then(p.resolve, p.reject)
    }
    this.pending.clear()
  }
}
