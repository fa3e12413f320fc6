import type { Hash } from 'viem'
import { describe, expect, it } from 'vitest'
import { start } from '../src/builder/machine/transition.js'
import type { BuildingState, PendingState } from '../src/builder/machine/types.js'
import { describeSender } from '../src/builder/sender-status.js'

// Pure: what the status page and debug_bundler_getSenderStatus say about a machine state.
const H = `0x${'ab'.repeat(32)}` as Hash
const extras = { index: 1, mode: 'auto' as const, maxBlocksToWaitForMine: 3, balance: 5n, keyId: 'key-1' }
const building = start('auto').state as BuildingState

describe('describeSender', () => {
  it('Pending: the transaction waited on, its fees, blocks waited of the maximum and attempts', () => {
    const pending: PendingState = {
      tag: 'Pending',
      untilBlock: 13n,
      feeIncreases: 1,
      ctx: {
        ...building.ctx,
        head: 12n,
        tracking: {
          nonce: 7n,
          txs: [
            {
              hash: `0x${'01'.repeat(32)}`,
              kind: 'bundle',
              fees: { maxFeePerGas: 10n, maxPriorityFeePerGas: 1n },
              sentBlock: 9n,
              opHashes: [H],
            },
            {
              hash: H,
              kind: 'bundle',
              fees: { maxFeePerGas: 11n, maxPriorityFeePerGas: 2n },
              sentBlock: 10n,
              opHashes: [H, H],
            },
          ],
        },
      },
    }
    expect(describeSender(pending, extras)).toMatchObject({
      index: 1,
      state: 'Pending',
      nonce: '7',
      inFlight: H,
      feeIncreases: 1,
      balance: '5',
      keyId: 'key-1',
      pending: {
        hash: H,
        kind: 'bundle',
        maxFeePerGas: '11',
        maxPriorityFeePerGas: '2',
        blocksWaited: 2,
        maxBlocksToWaitForMine: 3,
        ops: 2,
        attempts: 2,
      },
    })
  })

  it('Building: the underpriced meta-state and the last outcome', () => {
    const s: BuildingState = {
      ...building,
      underpriced: { sinceBlock: 40n },
      last: { kind: 'mined', tx: { hash: H, blockNumber: 41n, gasUsed: 90_000n }, attempts: 2 },
    }
    const d = describeSender(s, extras)
    expect(d).toMatchObject({ state: 'Building', underpricedSince: '40', last: 'mined' })
    expect(d.outcome).toEqual({
      kind: 'mined',
      txHash: H,
      blockNumber: '41',
      gasUsed: '90000',
      detail: '2 attempts',
    })
    expect(d.pending).toBeUndefined()
  })

  it('before the first step: Building at nonce 0', () => {
    expect(describeSender(undefined, extras)).toMatchObject({ state: 'Building', nonce: '0' })
  })
})
