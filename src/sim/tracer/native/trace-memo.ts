import type { Hex } from 'viem'
import type { ValidationTrace } from '../../tracer-seam.js'
import type { StartingState } from './replay-state.js'

/** Traces remembered; a pool's worth of ops, each re-simulated at every bundle it is a candidate for. */
const MAX_TRACES = 4096
/** Opcodes whose result depends on balances the footprint does not compare (see below). */
const BALANCE_OPS = ['BALANCE', 'SELFBALANCE']

interface Entry {
  /** The state the replay started from: everything the call could read. */
  footprint: StartingState
  trace: ValidationTrace
}

/**
 * Confirmed native traces by simulation call (the calldata holds the whole op), for the bundle's
 * second simulation: when every account and slot the op's replay started from holds the same value
 * at the new block, the replay would run the same steps, so its trace is reused and only the node's
 * outcome is compared again (byte for byte, gas included). Balances of the EntryPoint and of the
 * simulation's sender change with every bundle and are not compared; a trace that read any balance
 * (BALANCE, SELFBALANCE) is therefore never reused.
 */
export class TraceMemo {
  private readonly entries = new Map<string, Entry>()

  remember(key: string, footprint: StartingState, trace: ValidationTrace): void {
    if (trace.phases.some((p) => BALANCE_OPS.some((op) => (p.opcodes[op] ?? 0) > 0))) return
    if (this.entries.size >= MAX_TRACES) {
      const oldest = this.entries.keys().next().value
      if (oldest !== undefined) this.entries.delete(oldest)
    }
    this.entries.set(key, { footprint, trace })
  }

  /** The remembered trace if `state` agrees with its footprint (balances of `volatile` aside). */
  recall(key: string, state: StartingState, volatile: readonly string[]): ValidationTrace | undefined {
    const e = this.entries.get(key)
    if (!e) return undefined
    for (const [address, was] of e.footprint) {
      const now = state.get(address)
      if (!now || now.nonce !== was.nonce || (now.code ?? '0x') !== (was.code ?? '0x')) return undefined
      if (now.balance !== was.balance && !volatile.includes(address)) return undefined
      for (const [slot, value] of was.storage)
        if (BigInt(now.storage.get(slot) ?? '0x0') !== BigInt(value)) return undefined
    }
    return e.trace
  }
}

export function memoKey(entryPoint: string, data: Hex): string {
  return `${entryPoint.toLowerCase()}:${data}`
}
