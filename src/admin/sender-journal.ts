import { Gauge, Histogram, type Registry } from 'prom-client'
import type { Hash } from 'viem'
import type { OutcomeStatus, SenderStatus } from '../builder/sender-status.js'

/** One bundle nonce of one sender: the first send, its replacements, and how it ended. */
export interface BundleRecord {
  sender: number
  signer?: string
  nonce: string
  /** The latest transaction sent at this nonce. */
  txHash: Hash
  ops: number
  attempts: number
  maxFeePerGas: string
  maxPriorityFeePerGas: string
  /** When the first transaction at this nonce was seen sent (ms since epoch). */
  sentAt: number
  sentBlock?: string
  /** Undefined while pending. */
  outcome?: OutcomeStatus
  /** From the first send to the sender seeing it mined. */
  timeToMineMs?: number
}

const STATES = ['Building', 'Pending', 'Cancelling', 'CancelPending'] as const
const HISTORY = 20

/**
 * Follows every sender's status after each step of its machine (BundleSender's `onStatus`), and
 * keeps what one status does not hold: the last bundles with their outcome and time to mine, and
 * each sender's last cycle outcome while it is pending again. Feeds the sender-state gauge and the
 * time-to-mine histogram.
 */
export class SenderJournal {
  private readonly latest = new Map<number, SenderStatus>()
  private readonly lastOutcome = new Map<number, OutcomeStatus>()
  private readonly records: BundleRecord[] = []
  private readonly timeToMine?: Histogram<'sender'>

  constructor(
    registry?: Registry,
    private readonly now: () => number = Date.now,
  ) {
    if (!registry) return
    const journal = this
    new Gauge({
      name: 'conveyor_builder_sender_state',
      help: "1 for each sender's current state in the seed's diagram (Building, Pending, Cancelling, CancelPending)",
      labelNames: ['sender', 'signer', 'state'],
      registers: [registry],
      collect() {
        this.reset()
        for (const s of journal.latest.values()) {
          for (const state of STATES) {
            this.set({ sender: String(s.index), signer: s.signer ?? '', state }, s.state === state ? 1 : 0)
          }
        }
      },
    })
    this.timeToMine = new Histogram({
      name: 'conveyor_builder_bundle_time_to_mine_seconds',
      help: 'From the first send of a bundle nonce to the sender seeing it mined',
      labelNames: ['sender'],
      buckets: [0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300],
      registers: [registry],
    })
  }

  observe(s: SenderStatus): void {
    const before = this.latest.get(s.index)
    this.latest.set(s.index, s)
    // Idle rounds (no bundle) would hide how the last bundle ended: keep that one.
    if (s.outcome && s.outcome.kind !== 'no_bundle') this.lastOutcome.set(s.index, s.outcome)
    if (s.pending?.kind === 'bundle') this.sent(s)
    if (before && before.state !== 'Building' && s.state === 'Building' && s.outcome) this.ended(s, s.outcome)
  }

  /** Each sender's status, with how its last bundle (not an idle round) ended. */
  senders(): (SenderStatus & { lastOutcome?: OutcomeStatus })[] {
    return [...this.latest.values()]
      .sort((a, b) => a.index - b.index)
      .map((s) => ({ ...s, lastOutcome: this.lastOutcome.get(s.index) }))
  }

  /** Newest first. */
  bundles(): BundleRecord[] {
    return this.records.map((r) => ({ ...r }))
  }

  private find(sender: number, nonce: string): BundleRecord | undefined {
    return this.records.find((r) => r.sender === sender && r.nonce === nonce)
  }

  private sent(s: SenderStatus): void {
    const p = s.pending!
    const r = this.find(s.index, s.nonce)
    if (r && r.outcome?.kind !== 'mined') {
      Object.assign(r, {
        txHash: p.hash,
        ops: p.ops,
        attempts: p.attempts,
        maxFeePerGas: p.maxFeePerGas,
        maxPriorityFeePerGas: p.maxPriorityFeePerGas,
        outcome: undefined,
      })
      return
    }
    if (r) return
    this.records.unshift({
      sender: s.index,
      signer: s.signer,
      nonce: s.nonce,
      txHash: p.hash,
      ops: p.ops,
      attempts: p.attempts,
      maxFeePerGas: p.maxFeePerGas,
      maxPriorityFeePerGas: p.maxPriorityFeePerGas,
      sentAt: this.now(),
      sentBlock: s.head,
    })
    this.records.length = Math.min(this.records.length, HISTORY)
  }

  /** Back in Building: the open record of this sender (if any) takes the cycle's outcome. */
  private ended(s: SenderStatus, outcome: OutcomeStatus): void {
    const r = this.records.find((x) => x.sender === s.index && x.outcome === undefined)
    if (!r) return
    r.outcome = outcome
    if (outcome.kind === 'mined') {
      if (outcome.txHash) r.txHash = outcome.txHash
      r.timeToMineMs = this.now() - r.sentAt
      this.timeToMine?.observe({ sender: String(s.index) }, r.timeToMineMs / 1000)
    }
  }
}
