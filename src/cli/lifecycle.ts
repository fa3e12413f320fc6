import type { Logger } from '../util/log.js'

const STEP_TIMEOUT_MS = 10_000

/** Keeps only what is safe to log of a thrown value: its kind, message and stack. */
export function errorSummary(err: unknown): { name: string; message: string; stack?: string } {
  if (err instanceof Error) return { name: err.name, message: err.message, stack: err.stack }
  return { name: typeof err, message: String(err) }
}

/**
 * Orderly shutdown: clean-ups run last-registered first (the app before the chain it uses), each
 * bounded in time. SIGINT/SIGTERM shut down then exit 0; a second signal exits at once (the
 * process-exit hooks still kill anvil). An unhandled rejection is logged and survived; an uncaught
 * exception shuts down and exits 1.
 */
export class Lifecycle {
  private readonly cleanups: { name: string; run: () => Promise<void> }[] = []
  private stopping: Promise<void> | undefined
  // Nothing else may hold the event loop (anvil is unref'd; services may not be wired yet).
  private readonly keepAlive = setInterval(() => {}, 1 << 30)

  constructor(
    private readonly log: Logger,
    private readonly exit: (code: number) => never = process.exit,
  ) {}

  get isStopping(): boolean {
    return this.stopping !== undefined
  }

  /** Registers a clean-up. If shutdown has already begun, it runs at once. */
  defer(name: string, run: () => Promise<void>): void {
    if (this.stopping) {
      void this.runStep({ name, run })
      return
    }
    this.cleanups.push({ name, run })
  }

  shutdown(): Promise<void> {
    this.stopping ??= (async () => {
      clearInterval(this.keepAlive)
      for (const step of this.cleanups.reverse()) await this.runStep(step)
    })()
    return this.stopping
  }

  install(): void {
    let signals = 0
    const onSignal = (signal: NodeJS.Signals) => {
      signals++
      if (signals > 1) {
        this.log.warn({ signal }, 'second signal: exiting at once')
        this.exit(signal === 'SIGINT' ? 130 : 143)
        return
      }
      this.log.info({ signal }, 'shutting down')
      void this.shutdown().then(() => {
        this.log.info('stopped')
        this.exit(0)
      })
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    process.on('unhandledRejection', (reason) => {
      this.log.error({ err: errorSummary(reason) }, 'unhandled rejection (the process keeps running)')
    })
    process.on('uncaughtException', (err) => {
      this.log.fatal({ err: errorSummary(err) }, 'uncaught exception: shutting down')
      const force = setTimeout(() => this.exit(1), STEP_TIMEOUT_MS + 1000)
      force.unref()
      void this.shutdown().finally(() => this.exit(1))
    })
  }

  private async runStep(step: { name: string; run: () => Promise<void> }): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    try {
      await Promise.race([
        step.run(),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`timed out after ${STEP_TIMEOUT_MS} ms`)),
            STEP_TIMEOUT_MS,
          )
        }),
      ])
    } catch (err) {
      this.log.error({ err: errorSummary(err), step: step.name }, 'clean-up failed')
    } finally {
      clearTimeout(timer)
    }
  }
}
