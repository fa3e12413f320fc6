import { parentPort, workerData } from 'node:worker_threads'
import { ReplayEngine, type ReplayRules } from './replay.js'
import type { ReplayReply, ReplayRequest } from './worker-replayer.js'

// The body of the replay worker thread: one engine, replays in the order they arrive (the engine
// queues them), each answered with its trace or the error that ended it.
const port = parentPort
if (!port) throw new Error('replay-worker runs only as a worker thread')
const engine = await ReplayEngine.create((workerData as { rules: ReplayRules }).rules)
port.on('message', (m: ReplayRequest) => {
  engine.replay(m.call, m.start, m.block, m.config).then(
    (trace) => port.postMessage({ id: m.id, trace } satisfies ReplayReply),
    (err: unknown) =>
      port.postMessage({ id: m.id, error: (err as Error)?.message ?? String(err) } satisfies ReplayReply),
  )
})
port.postMessage({ ready: true } satisfies ReplayReply)
