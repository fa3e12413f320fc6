import type { Block, PublicClient } from 'viem'
import { describe, expect, it } from 'vitest'
import { HeadReads } from '../src/sim/head-reads.js'

/** A node that counts calls and answers when told to (to hold calls in flight). */
function countingNode() {
  const calls = { blockNumber: 0, block: [] as bigint[] }
  let head = 10n
  let failNext = false
  const client = {
    getBlockNumber: async () => {
      calls.blockNumber += 1
      await new Promise((r) => setTimeout(r, 5))
      return head
    },
    getBlock: async ({ blockNumber }: { blockNumber: bigint }) => {
      calls.block.push(blockNumber)
      if (failNext) {
        failNext = false
        throw new Error('node down')
      }
      return {
        number: blockNumber,
        hash: `0x${blockNumber.toString(16).padStart(64, '0')}`,
      } as unknown as Block
    },
  } as unknown as Pick<PublicClient, 'getBlockNumber' | 'getBlock'>
  return {
    client,
    calls,
    setHead: (n: bigint) => {
      head = n
    },
    failNextBlock: () => {
      failNext = true
    },
  }
}

describe('HeadReads', () => {
  it('joins concurrent head reads into one call, and a later caller asks again', async () => {
    const node = countingNode()
    const reads = new HeadReads(node.client)
    const heads = await Promise.all([reads.head(), reads.head(), reads.head()])
    expect(heads).toEqual([10n, 10n, 10n])
    expect(node.calls.blockNumber).toBe(1)
    node.setHead(11n)
    expect(await reads.head()).toBe(11n)
    expect(node.calls.blockNumber).toBe(2)
  })

  it('reads a header once per number while it is fresh, again once it is older than a second', async () => {
    const node = countingNode()
    let t = 0
    const reads = new HeadReads(node.client, () => t)
    await Promise.all([reads.block(10n), reads.block(10n)])
    t = 999
    await reads.block(10n)
    expect(node.calls.block).toEqual([10n])
    t = 1_000
    await reads.block(10n)
    expect(node.calls.block).toEqual([10n, 10n])
  })

  it('keeps the newest two numbers only', async () => {
    const node = countingNode()
    const reads = new HeadReads(node.client, () => 0)
    for (const n of [10n, 11n, 12n]) await reads.block(n)
    await reads.block(11n)
    await reads.block(12n)
    expect(node.calls.block).toEqual([10n, 11n, 12n])
    await reads.block(10n)
    expect(node.calls.block).toEqual([10n, 11n, 12n, 10n])
  })

  it('does not keep a failed read: the next caller asks the node again', async () => {
    const node = countingNode()
    const reads = new HeadReads(node.client, () => 0)
    node.failNextBlock()
    await expect(reads.block(10n)).rejects.toThrow('node down')
    const b = await reads.block(10n)
    expect(b.number).toBe(10n)
    expect(node.calls.block).toEqual([10n, 10n])
  })
})
