import { Registry } from 'prom-client'
import type { Hash } from 'viem'
import { describe, expect, it } from 'vitest'
import { SenderJournal } from '../src/admin/sender-journal.js'
import type { SenderStatus } from '../src/builder/sender-status.js'

// Pure bookkeeping of the status journal: plain statuses in, records and metrics out.
const H1 = `0x${'11'.repeat(32)}` as Hash
const H2 = `0x${'22'.repeat(32)}` as Hash

const building = (extra: Partial<SenderStatus> = {}): SenderStatus => ({
  index: 0,
  signer: '0x1111111111111111111111111111111111111111',
  state: 'Building',
  nonce: '5',
  feeIncreases: 0,
  mode: 'auto',
  ...extra,
})
const pending = (hash: Hash, attempts: number): SenderStatus => ({
  ...building(),
  state: 'Pending',
  head: '100',
  pending: {
    hash,
    kind: 'bundle',
    maxFeePerGas: '2000',
    maxPriorityFeePerGas: '100',
    blocksWaited: 0,
    maxBlocksToWaitForMine: 2,
    ops: 3,
    attempts,
  },
})

describe('SenderJournal', () => {
  it('keeps one record per nonce through an abandoned send and its replacement, until mined', async () => {
    let now = 1_000
    const registry = new Registry()
    const j = new SenderJournal(registry, () => now)
    j.observe(building())
    j.observe(pending(H1, 1))
    expect(j.bundles()).toMatchObject([{ nonce: '5', txHash: H1, ops: 3, attempts: 1 }])
    expect(j.bundles()[0]?.outcome).toBeUndefined()

    now = 3_000
    j.observe(building({ outcome: { kind: 'abandoned', txHash: H1, detail: 'timeout' } }))
    expect(j.bundles()[0]?.outcome?.kind).toBe('abandoned')
    j.observe(pending(H2, 2))
    expect(j.bundles()).toHaveLength(1)
    expect(j.bundles()[0]).toMatchObject({ txHash: H2, attempts: 2 })
    expect(j.bundles()[0]?.outcome).toBeUndefined()

    now = 7_500
    j.observe(
      building({ nonce: '6', outcome: { kind: 'mined', txHash: H2, blockNumber: '103', gasUsed: '90000' } }),
    )
    // an idle round afterwards does not hide how the last bundle ended
    j.observe(building({ nonce: '6', outcome: { kind: 'no_bundle', detail: 'no_ops' } }))
    expect(j.bundles()[0]).toMatchObject({
      outcome: { kind: 'mined', gasUsed: '90000' },
      timeToMineMs: 6_500,
    })
    expect(j.senders()[0]?.lastOutcome?.kind).toBe('mined')

    const text = await registry.metrics()
    expect(text).toContain('conveyor_builder_bundle_time_to_mine_seconds_sum{sender="0"} 6.5')
    expect(text).toMatch(/conveyor_builder_sender_state\{sender="0",signer="0x1{40}",state="Building"\} 1/)
    expect(text).toMatch(/conveyor_builder_sender_state\{sender="0",signer="0x1{40}",state="Pending"\} 0/)
  })

  it('keeps the newest 20 bundles, newest first', () => {
    const j = new SenderJournal()
    for (let n = 0; n < 25; n++) {
      j.observe({ ...pending(H1, 1), nonce: String(n) })
      j.observe(building({ nonce: String(n + 1), outcome: { kind: 'mined', txHash: H1 } }))
    }
    const nonces = j.bundles().map((b) => b.nonce)
    expect(nonces).toHaveLength(20)
    expect(nonces[0]).toBe('24')
    expect(nonces[19]).toBe('5')
  })
})
