import { delegationOverride } from '../chain/eip7702.js'
import type { EntryPointModule } from '../chain/entrypoint/types.js'
import type { UserOperation } from '../chain/userop.js'
import type { CallOutcome, SimulationCall } from './sim-call.js'

/** Ops in one joined call at most; more start another. */
const MAX_JOINED_OPS = 64

/** A group of ops at one block simulated in one node call: an outcome per op, in order. */
export type JoinedRun = (
  ep: EntryPointModule,
  ops: UserOperation[],
  blockNumber: bigint,
) => Promise<CallOutcome[]>

interface Waiting {
  call: SimulationCall
  resolve: (outcome: CallOutcome) => void
  reject: (err: unknown) => void
}

interface Gathering {
  ep: EntryPointModule
  blockNumber: bigint
  waiting: Waiting[]
}

/**
 * Admissions' simulation calls at one block joined into one SimulationBatch eth_call. Under load
 * admissions arrive together (they wait on one shared head read), and each solo call carries the
 * EntryPoint's simulation bytecode as a state override: one call per moment instead of one per op
 * saves the node and Conveyor the same work many times over. Calls gather until the event loop turns (no timer: an
 * op alone goes alone at once, as before); each op keeps its own answer (the batch isolates ops from
 * each other and gives each the gas its limits allow); a joined call that fails is retried op by
 * op, so no op is refused for its neighbours' sake.
 */
export class SimulationCoalescer {
  private readonly gathering = new Map<string, Gathering>()

  constructor(
    private readonly joined: JoinedRun,
    private readonly alone: (call: SimulationCall) => Promise<CallOutcome>,
  ) {}

  run(ep: EntryPointModule, call: SimulationCall): Promise<CallOutcome> {
    // An authorization is simulated as applied by a per-sender override: such an op goes alone, so
    // two ops of one sender with different delegates never share an override set.
    if (!call.op || Object.keys(delegationOverride(call.op)).length > 0) return this.alone(call)
    const key = `${ep.address}:${call.blockNumber}`
    let g = this.gathering.get(key)
    if (!g) {
      const started: Gathering = { ep, blockNumber: call.blockNumber, waiting: [] }
      this.gathering.set(key, started)
      setImmediate(() => this.flush(key, started))
      g = started
    }
    const joining = g
    return new Promise<CallOutcome>((resolve, reject) => {
      joining.waiting.push({ call, resolve, reject })
      if (joining.waiting.length >= MAX_JOINED_OPS) this.flush(key, joining)
    })
  }

  private flush(key: string, g: Gathering): void {
    if (this.gathering.get(key) !== g) return // flushed when it filled up
    this.gathering.delete(key)
    void this.settle(g)
  }

  private async settle({ ep, blockNumber, waiting }: Gathering): Promise<void> {
    if (waiting.length === 1) return this.one(waiting[0] as Waiting)
    try {
      const ops = waiting.map((w) => w.call.op as UserOperation)
      const outcomes = await this.joined(ep, ops, blockNumber)
      for (const [i, w] of waiting.entries()) w.resolve(outcomes[i] as CallOutcome)
    } catch {
      // The node refused the joined call (its size, its gas, a fault): each op asks on its own.
      await Promise.all(waiting.map((w) => this.one(w)))
    }
  }

  private async one(w: Waiting): Promise<void> {
    try {
      w.resolve(await this.alone(w.call))
    } catch (err) {
      w.reject(err)
    }
  }
}
