import type { Address } from 'viem'
import { type Bundle, bundleOps, type NoBundleReason, type Proposal } from './bundle.js'
import type { ProposalResult } from './machine/types.js'
import type { ProposeRequest } from './proposer.js'

/** The machine's `proposal` answer, and the bundle it names (kept by the driver for `send`). */
export interface RotationProposal {
  result: ProposalResult
  bundle?: Bundle
}

/**
 * Which EntryPoint a sender asks the proposer for next, when it serves several: one bundle calls
 * one EntryPoint. A replacement (a fee floor is set) asks the EntryPoint of the bundle it replaces
 * first, so the same ops are carried again; a fresh bundle starts at the EntryPoint after the last
 * one that had a bundle, so none is starved. The first EntryPoint with a bundle wins; with none,
 * the reason that says the most is kept.
 */
export class EntryPointRotation {
  private last = -1

  constructor(
    private readonly entryPoints: readonly Address[],
    private readonly proposer: { propose(req: ProposeRequest): Promise<Proposal> },
  ) {
    if (entryPoints.length === 0) throw new Error('a bundle sender needs at least one EntryPoint')
  }

  async propose(req: Omit<ProposeRequest, 'entryPoint'>): Promise<RotationProposal> {
    let reason: NoBundleReason = 'no_ops'
    for (const index of this.order(req.feeFloor !== undefined)) {
      const entryPoint = this.entryPoints[index] as Address
      const p = await this.proposer.propose({ ...req, entryPoint })
      if (p.kind === 'bundle') {
        this.last = index
        const opHashes = bundleOps(p.bundle).map((c) => c.hash)
        return { result: { kind: 'bundle', opHashes, fees: p.fees, entryPoint }, bundle: p.bundle }
      }
      if (rank(p.reason) > rank(reason)) reason = p.reason
    }
    return { result: { kind: 'none', reason } }
  }

  /** Indices to ask in: from the last bundle's EntryPoint (replacement) or the one after it (fresh). */
  private order(replacement: boolean): number[] {
    const n = this.entryPoints.length
    const first = this.last < 0 ? 0 : replacement ? this.last : (this.last + 1) % n
    return Array.from({ length: n }, (_, i) => (first + i) % n)
  }
}

/** Which no-bundle reason says the most when several EntryPoints each had none. */
function rank(reason: NoBundleReason): number {
  return ['no_ops', 'all_rejected', 'unprofitable', 'priced_out', 'insufficient_balance'].indexOf(reason)
}
