import type { TracerConfig } from '../js-source.js'
import type { RawTrace } from '../raw.js'
import type { BlockContext, ReplayCall } from './replay.js'
import type { StartingState } from './replay-state.js'

/**
 * What replays a simulation call over its pre-state and records what the ERC-7562 rules need: the
 * in-process engine, or a worker thread running one (every argument and the result are plain data,
 * so they cross a thread as they are).
 */
export interface Replayer {
  replay(call: ReplayCall, start: StartingState, block: BlockContext, config: TracerConfig): Promise<RawTrace>
  /** Stops what it runs on (a worker thread); replays asked for later run in-process or fail. */
  close(): Promise<void>
}
