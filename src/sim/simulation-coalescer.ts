import type { PublicClient } from 'viem'
import { delegationOverride } from '../chain/eip7702.js'
import type { EntryPointModule } from '../chain/entrypoint/types.js'
import { simulateBatch } from './batch-call.js'
import { type CallOutcome, callSimulation, type SimulationCall } from './sim-call.js'

/** Ops in one joined call at most; more start another. */
const MAX_JOINED_OPS = 64

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
 * Admissions' simulateValidation calls at one block joined into SimulationBatch calls. Under load
 * admissions arrive together (they wait on one shared head read), and each solo eth_call carries
 * the EntryPoint's simulation bytecode as a state override: one call per moment instead of one per
 * op saves the node and Conveyor the same work many times over. Calls gather until the event loop
 * turns (no timer: an op alone is simulated at once, as before), each op keeps its own outcome (the
 * batch isolates ops from each other and gives each the gas its limits allow), and a joined call
 * that fails is retried op by op, so no op is refused for its neighbours' sake.
 */
export class SimulationCoalescer {
  private readonly gathering = new Map<string, Gathering>()

  constructor(
    private readonly client: PublicClient,
    /** Gas of a joined call: the block's gas limit (the batch stops an op short of it). */
    private readonly gasAt: (blockNumber: bigint) => Promise<bigint>,
  ) {}

  simulate(ep: EntryPointModule, call: SimulationCall): Promise<CallOutcome> {
    // An authorization is simulated as applied by a per-sender override: such an op goes alone, so
    // two ops of one sender with different delegates never share an override set.
    if (!call.op || Object.keys(delegationOverride(call.op)).length > 0) {
      return callSimulation(this.client, call)
    }
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
    void this.run(g)
  }

  private async run({ ep, blockNumber, waiting }: Gathering): Promise<void> {
    if (waiting.length === 1) return this.alone(waiting[0] as Waiting)
    try {
      const gas = await this.gasAt(blockNumber)
      const ops = waiting.map((w) => w.call.op as NonNullable<SimulationCall['op']>)
      const outcomes = await simulateBatch(this.client, { ep, ops, blockNumber, gas })
      for (const [i, w] of waiting.entries()) w.resolve(outcomes[i] as CallOutcome)
    } catch {
      // The node refused the joined call (its size, its gas, a fault): each op asks on its own.
      await Promise.all(waiting.map((w) => this.alone(w)))
    }
  }

  private async alone(w: Waiting): Promise<void> {
    try {
      w.resolve(await callSimulation(this.client, w.call))
    } catch (err) {
      w.reject(err)
    }
  }
}
