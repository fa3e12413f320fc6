import type { Hash, PublicClient } from 'viem'
import { type Logger, silentLogger } from '../util/log.js'

/** The header fields the rest of Conveyor needs about each new block. */
export interface WatchedBlock {
  number: bigint
  hash: Hash
  parentHash: Hash
  timestamp: bigint
  /** 0n on a chain without EIP-1559. */
  baseFeePerGas: bigint
  gasLimit: bigint
}

export interface BlockWatcherOptions {
  /** Only `request` is used: raw eth_blockNumber / eth_getBlockByNumber, so no client-side caching. */
  client: Pick<PublicClient, 'request'>
  /** How often to ask for a new head once caught up. Default 1000 ms. */
  pollIntervalMs?: number
  /** First block number to yield. Default: the head when iteration starts. */
  fromBlock?: bigint
  /** A request taking longer than this counts as failed. Default 10,000 ms. */
  requestTimeoutMs?: number
  /** Back-off after consecutive failures: initial, doubling, capped. Default 250 ms .. 10,000 ms. */
  backoff?: { initialMs?: number; maxMs?: number }
  /** Blocks fetched concurrently while filling a gap. Default 4. */
  maxParallelFetches?: number
  logger?: Logger
  /** Called on every failed poll (for metrics and tests); `failures` counts consecutive ones. */
  onError?: (err: unknown, failures: number) => void
}

/**
 * Yields every new block exactly once, in increasing number order, filling gaps by fetching every
 * missed block, for as long as the iteration runs.
 *
 * The contract is by NUMBER, with one exception: each number is yielded once, even if the block at
 * that number changes afterwards (a reorg), except the head: while caught up, the watcher checks that
 * the block it yielded last is still the block at that height, and yields the replacement when it is
 * not (a same-height reorg, which no later block would reveal until the chain grows). Consumers
 * detect reorgs by comparing a block's `parentHash` with the hash they saw for the number before it
 * (or a new hash at a number they already saw), and walk back themselves.
 *
 * Failures (timeouts, refused connections, 5xx, garbage answers) are logged and retried with a
 * capped exponential back-off; the iteration never ends because of them. If the node comes back
 * with a head BELOW the next number to yield (a restart that lost blocks, a fresh chain, a lagging
 * backend behind a load balancer) the watcher waits until the chain grows past that number and
 * carries on from it: numbers already yielded are not yielded again, and the first new block's
 * `parentHash` will not match, which consumers treat as a reorg.
 *
 * Iteration ends when `signal` aborts or the consumer breaks out of the loop.
 */
export class BlockWatcher {
  private readonly client: BlockWatcherOptions['client']
  private readonly pollIntervalMs: number
  private readonly requestTimeoutMs: number
  private readonly backoffInitialMs: number
  private readonly backoffMaxMs: number
  private readonly maxParallel: number
  private readonly log: Logger

  constructor(private readonly opts: BlockWatcherOptions) {
    this.client = opts.client
    this.pollIntervalMs = positive(opts.pollIntervalMs ?? 1000, 'pollIntervalMs')
    this.requestTimeoutMs = positive(opts.requestTimeoutMs ?? 10_000, 'requestTimeoutMs')
    this.backoffInitialMs = positive(opts.backoff?.initialMs ?? 250, 'backoff.initialMs')
    this.backoffMaxMs = Math.max(this.backoffInitialMs, opts.backoff?.maxMs ?? 10_000)
    this.maxParallel = Math.max(1, Math.floor(opts.maxParallelFetches ?? 4))
    this.log = opts.logger ?? silentLogger
  }

  async *blocks(signal?: AbortSignal): AsyncGenerator<WatchedBlock, void, undefined> {
    let cursor = this.opts.fromBlock // next number to yield
    let knownHead: bigint | undefined // the newest head seen, so gap filling needs no head request per batch
    let failures = 0
    let behind = false
    let lastYielded: WatchedBlock | undefined
    while (!signal?.aborted) {
      let batch: WatchedBlock[]
      try {
        if (cursor === undefined || knownHead === undefined || cursor > knownHead) {
          knownHead = await this.headNumber(signal)
        }
        if (cursor === undefined) cursor = knownHead
        const wasBehind = behind
        behind = knownHead + 1n < cursor
        if (behind && !wasBehind) {
          this.log.warn(
            { head: knownHead, next: cursor },
            'block watcher: node head is below blocks already yielded; waiting for the chain to pass them',
          )
        }
        if (lastYielded && knownHead === lastYielded.number) {
          // Caught up: the head may have been replaced at the same height.
          const now = await this.fetchBlock(lastYielded.number, signal)
          batch = now && now.hash !== lastYielded.hash ? [now] : []
        } else {
          batch = await this.fetchFrom(cursor, knownHead, signal)
        }
      } catch (err) {
        if (signal?.aborted) return
        failures++
        const delay = Math.min(this.backoffMaxMs, this.backoffInitialMs * 2 ** Math.min(failures - 1, 30))
        this.log.warn(
          { err, failures, delayMs: delay, next: cursor },
          'block watcher: RPC failed, backing off',
        )
        this.opts.onError?.(err, failures)
        await sleep(delay, signal)
        continue
      }
      if (failures > 0) this.log.info({ failures, next: cursor }, 'block watcher: RPC recovered')
      failures = 0
      for (const block of batch) {
        yield block
        lastYielded = block
        cursor = block.number + 1n
        if (signal?.aborted) return
      }
      // A short batch means the chain is shorter than we thought: ask for the head again.
      if (batch.length === 0 || cursor > knownHead || lastYielded?.number === knownHead) {
        knownHead = undefined
        await sleep(this.pollIntervalMs, signal)
      }
    }
  }

  [Symbol.asyncIterator](): AsyncGenerator<WatchedBlock, void, undefined> {
    return this.blocks()
  }

  private async headNumber(signal?: AbortSignal): Promise<bigint> {
    const hex = await this.call<unknown>('eth_blockNumber', [], signal)
    if (typeof hex !== 'string' || !/^0x[0-9a-fA-F]+$/.test(hex)) {
      throw new Error(`eth_blockNumber returned ${JSON.stringify(hex)}`)
    }
    return BigInt(hex)
  }

  /** Up to maxParallel consecutive blocks from `from` (at most to `head`); stops at the first missing one. */
  private async fetchFrom(from: bigint, head: bigint, signal?: AbortSignal): Promise<WatchedBlock[]> {
    if (from > head) return []
    const count = Number(min(BigInt(this.maxParallel), head - from + 1n))
    const fetched = await Promise.all(
      Array.from({ length: count }, (_, i) => this.fetchBlock(from + BigInt(i), signal)),
    )
    const out: WatchedBlock[] = []
    for (const b of fetched) {
      if (b === null) break
      out.push(b)
    }
    return out
  }

  private async fetchBlock(n: bigint, signal?: AbortSignal): Promise<WatchedBlock | null> {
    const raw = await this.call<unknown>('eth_getBlockByNumber', [`0x${n.toString(16)}`, false], signal)
    if (raw === null) return null
    const block = parseBlock(raw)
    if (block.number !== n) throw new Error(`asked for block ${n}, node answered block ${block.number}`)
    return block
  }

  private call<T>(method: string, params: unknown[], signal?: AbortSignal): Promise<T> {
    const request = this.client.request({ method, params } as never) as Promise<T>
    return withTimeout(request, this.requestTimeoutMs, method, signal)
  }
}

const HASH = /^0x[0-9a-fA-F]{64}$/
const QUANTITY = /^0x[0-9a-fA-F]+$/

/** A JSON-RPC block object to a WatchedBlock; anything malformed (garbage, a pending block) throws. */
export function parseBlock(raw: unknown): WatchedBlock {
  if (typeof raw !== 'object' || raw === null) throw new Error(`not a block: ${JSON.stringify(raw)}`)
  const r = raw as Record<string, unknown>
  const qty = (k: string, optional = false): bigint => {
    const v = r[k]
    if (optional && (v === undefined || v === null)) return 0n
    if (typeof v !== 'string' || !QUANTITY.test(v))
      throw new Error(`block field ${k} is ${JSON.stringify(v)}`)
    return BigInt(v)
  }
  const hash = (k: string): Hash => {
    const v = r[k]
    if (typeof v !== 'string' || !HASH.test(v)) throw new Error(`block field ${k} is ${JSON.stringify(v)}`)
    return v as Hash
  }
  return {
    number: qty('number'),
    hash: hash('hash'),
    parentHash: hash('parentHash'),
    timestamp: qty('timestamp'),
    baseFeePerGas: qty('baseFeePerGas', true),
    gasLimit: qty('gasLimit'),
  }
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b
}

function positive(n: number, what: string): number {
  if (!(Number.isFinite(n) && n > 0)) throw new RangeError(`${what} must be a positive number, got ${n}`)
  return n
}

/** Resolves after `ms`, or early (without throwing) when the signal aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve()
    const done = () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
}

/** The transport's own timeout may be longer or absent; never let one request stall the watcher. */
function withTimeout<T>(p: Promise<T>, ms: number, what: string, signal?: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    }
    const onAbort = () => {
      cleanup()
      reject(new Error(`${what} aborted`))
    }
    const timer = setTimeout(() => {
      cleanup()
      reject(new Error(`${what} timed out after ${ms} ms`))
    }, ms)
    if (signal?.aborted) return onAbort()
    signal?.addEventListener('abort', onAbort, { once: true })
    p.then(
      (v) => {
        cleanup()
        resolve(v)
      },
      (e: unknown) => {
        cleanup()
        reject(e)
      },
    )
  })
}
