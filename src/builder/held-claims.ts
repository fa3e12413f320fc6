import type { Address } from 'viem'
import { errorMessage } from '../util/errors.js'
import type { Logger } from '../util/log.js'
import type { Bundle } from './bundle.js'
import type { ClaimedSender, OpClaims } from './claims.js'
import type { SenderState } from './machine/types.js'

/**
 * The sender claims one bundle sender holds across processes sharing the pool. Between proposals,
 * claims are kept only for the senders of bundles sent at the current nonce, all released once it
 * settles (mined, or nothing left out there at it). While a proposal or a send is under way its
 * claims stay.
 */
export class HeldClaims {
  private inFlight: ClaimedSender[] = []
  /** What was last retained (a key of inFlight), to skip telling Redis the same again. */
  private retained = ''

  constructor(
    private readonly claims: OpClaims,
    private readonly log: Logger,
  ) {}

  /** The proposal claimed its candidates: settle them at the next step. */
  proposing(): void {
    this.retained = 'claims taken'
  }

  /** A bundle is being sent: its senders stay claimed until its nonce settles. */
  hold(bundle: Bundle): void {
    for (const g of bundle.groups) {
      for (const o of g.ops) {
        const c = { entryPoint: bundle.entryPoint, sender: o.op.sender }
        if (!this.inFlight.some((x) => x.entryPoint === c.entryPoint && x.sender === c.sender)) {
          this.inFlight = [...this.inFlight, c]
        }
      }
    }
  }

  /** After each step of the machine: keep only what the current nonce still needs. */
  settle(signer: Address, s: SenderState): void {
    // Not while a send is under way: its bundle joined inFlight before the tracker records the tx.
    if (s.tag === 'Building' && s.phase.kind !== 'idle') return
    if (s.ctx.tracking.txs.length === 0) this.inFlight = []
    const key = this.inFlight.map((c) => `${c.entryPoint}|${c.sender}`).join(',')
    if (key === this.retained) return
    this.retained = key
    this.claims
      .retain(signer, this.inFlight)
      .catch((err) => this.log.warn({ err: errorMessage(err) }, 'releasing sender claims failed'))
  }

  /** The lease ended: release everything (claim expiry covers a failure). */
  async release(signer: Address): Promise<void> {
    this.inFlight = []
    await this.claims.retain(signer, []).catch(() => undefined)
  }
}
