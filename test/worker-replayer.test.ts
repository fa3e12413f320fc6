import type { Hex } from 'viem'
import { afterEach, describe, expect, it } from 'vitest'
import type { TracerConfig } from '../src/sim/tracer/js-source.js'
import { type BlockContext, type ReplayCall, ReplayEngine } from '../src/sim/tracer/native/replay.js'
import type { StartingState } from '../src/sim/tracer/native/replay-state.js'
import type { Replayer } from '../src/sim/tracer/native/replayer.js'
import { WorkerReplayer } from '../src/sim/tracer/native/worker-replayer.js'
import type { RawTrace } from '../src/sim/tracer/raw.js'
import { captureLog } from './support/log-capture.js'

// The rule table runs every case through the real worker (test/support/tracing-paths.ts); this file
// covers what the table cannot: the same trace on both threads, and a worker that dies.

const RULES = { chainId: 31337, hardfork: 'osaka' }
const TARGET = '0x00000000000000000000000000000000000000aa'
const ZERO = '0x0000000000000000000000000000000000000000'
/** SLOAD slot 1, add 1, return it: depends on the starting state. */
const CODE: Hex = '0x60015460010160005260206000f3'
const CALL: ReplayCall = { from: ZERO, to: TARGET, data: '0x', gas: 100_000n }
const BLOCK: BlockContext = {
  number: 1n,
  timestamp: 1n,
  coinbase: ZERO,
  baseFeePerGas: 0n,
  gasLimit: 30_000_000n,
  prevRandao: `0x${'00'.repeat(32)}`,
}
const CONFIG: TracerConfig = {
  entryPoint: '0x00000000000000000000000000000000000000bb',
  sender: '0x00000000000000000000000000000000000000cc',
  selectors: {
    createSender: '0x00000001',
    validateUserOp: '0x00000002',
    validatePaymasterUserOp: '0x00000003',
  },
}
const start = (slot1: bigint): StartingState =>
  new Map([
    [
      TARGET,
      {
        balance: 0n,
        nonce: 0n,
        code: CODE,
        storage: new Map([[`0x${'1'.padStart(64, '0')}`, `0x${slot1.toString(16)}` as Hex]]),
      },
    ],
  ])
const word = (n: bigint): Hex => `0x${n.toString(16).padStart(64, '0')}`

/** An in-process replayer that counts what it ran (the fallback under test). */
function countingLocal(engine: ReplayEngine): Replayer & { runs: number } {
  const local = {
    runs: 0,
    replay: (call: ReplayCall, s: StartingState, b: BlockContext, c: TracerConfig): Promise<RawTrace> => {
      local.runs++
      return engine.replay(call, s, b, c)
    },
    close: async () => {},
  }
  return local
}

const opened: WorkerReplayer[] = []
afterEach(async () => {
  await Promise.all(opened.splice(0).map((w) => w.close()))
})

describe('replays on a worker thread', () => {
  it('gives the in-process trace, from the worker once it is ready', async () => {
    const engine = await ReplayEngine.create(RULES)
    const local = countingLocal(engine)
    const worker = new WorkerReplayer(RULES, local, captureLog().logger)
    opened.push(worker)
    expect(await worker.started).toBe(true)
    const traces = await Promise.all([41n, 99n].map((v) => worker.replay(CALL, start(v), BLOCK, CONFIG)))
    expect(local.runs).toBe(0)
    expect(traces.map((t) => t.output)).toEqual([word(42n), word(100n)])
    expect(traces[0]).toEqual(await engine.replay(CALL, start(41n), BLOCK, CONFIG))
  }, 30_000)

  it('runs replays in-process until the worker is ready, and after it is closed', async () => {
    const engine = await ReplayEngine.create(RULES)
    const local = countingLocal(engine)
    const worker = new WorkerReplayer(RULES, local, captureLog().logger)
    opened.push(worker)
    expect((await worker.replay(CALL, start(1n), BLOCK, CONFIG)).output).toBe(word(2n))
    expect(local.runs).toBe(1) // the worker was still loading
    await worker.started
    await worker.close()
    expect((await worker.replay(CALL, start(5n), BLOCK, CONFIG)).output).toBe(word(6n))
    expect(local.runs).toBe(2)
  }, 30_000)

  it('a worker that dies mid-replay: the replay runs in-process, the worker is started again, then given up', async () => {
    const engine = await ReplayEngine.create(RULES)
    const local = countingLocal(engine)
    const { lines, logger } = captureLog<{ level: number; msg: string; restart?: number }>('warn')
    const dying = new URL('./support/dying-replay-worker.mjs', import.meta.url)
    const worker = new WorkerReplayer(RULES, local, logger, dying)
    opened.push(worker)
    expect(await worker.started).toBe(true)
    for (let i = 1n; i <= 5n; i++) {
      // Wait for a (re)started worker where there will be one, so each replay meets a live worker.
      for (let t = 0; t < 200 && !worker.onWorker && i <= 4n; t++) await new Promise((r) => setTimeout(r, 25))
      expect((await worker.replay(CALL, start(i), BLOCK, CONFIG)).output).toBe(word(i + 1n))
    }
    expect(local.runs).toBe(5) // every replay answered, none by the dead workers
    const restarts = lines.filter((l) => l.msg === 'the replay worker stopped: starting it again')
    expect(restarts.map((l) => l.restart)).toEqual([1, 2, 3])
    expect(lines.some((l) => l.msg === 'the replay worker keeps stopping: replays run in-process')).toBe(true)
    expect(worker.onWorker).toBe(false)
  }, 30_000)

  it('a worker that cannot start: started is false and replays run in-process', async () => {
    const engine = await ReplayEngine.create(RULES)
    const local = countingLocal(engine)
    const missing = new URL('./support/no-such-worker.mjs', import.meta.url)
    const worker = new WorkerReplayer(RULES, local, captureLog('fatal').logger, missing)
    opened.push(worker)
    expect(await worker.started).toBe(false)
    expect((await worker.replay(CALL, start(7n), BLOCK, CONFIG)).output).toBe(word(8n))
    expect(local.runs).toBe(1)
  }, 30_000)
})
