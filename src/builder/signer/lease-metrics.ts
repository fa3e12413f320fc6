import { Counter, Gauge, type Registry } from 'prom-client'

export type LeaseEndReason = 'released' | 'renewal_failed' | 'lock_taken' | 'connection_lost' | 'other'

/** Bounded label values for the free-text reason a lease ended with. */
export function leaseEndReason(reason: string): LeaseEndReason {
  if (reason === 'released') return 'released'
  if (reason.startsWith('renewal failed')) return 'renewal_failed'
  if (reason.startsWith('renewal found')) return 'lock_taken'
  if (reason.includes('connection closed')) return 'connection_lost'
  return 'other'
}

export interface LeaseMetrics {
  held(senderIndex: number, keyId: string, held: boolean): void
  ended(reason: string): void
  waitTimedOut(): void
}

export function createLeaseMetrics(registry: Registry | undefined): LeaseMetrics {
  if (!registry) return { held() {}, ended() {}, waitTimedOut() {} }
  const held = new Gauge({
    name: 'conveyor_signer_lease_held',
    help: '1 while the sender holds a lease on the key',
    labelNames: ['sender', 'key_id'],
    registers: [registry],
  })
  const ended = new Counter({
    name: 'conveyor_signer_lease_ended_total',
    help: 'Signer leases that ended, by reason (released, renewal_failed, lock_taken, connection_lost)',
    labelNames: ['reason'],
    registers: [registry],
  })
  const waits = new Counter({
    name: 'conveyor_signer_lease_wait_timeouts_total',
    help: 'Acquisitions that found no free key within the wait time',
    registers: [registry],
  })
  return {
    held: (sender, keyId, h) => held.set({ sender: String(sender), key_id: keyId }, h ? 1 : 0),
    ended: (reason) => ended.inc({ reason: leaseEndReason(reason) }),
    waitTimedOut: () => waits.inc(),
  }
}
