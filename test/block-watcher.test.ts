import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPublicClient, http } from 'viem'
import { afterEach, describe, expect, it } from 'vitest'
import {
  BlockWatcher,
  type BlockWatcherOptions,
  parseBlock,
  type WatchedBlock,
} from '../src/chain/block-watcher.js'
import { type AnvilNode, startAnvil } from '../src/dev/anvil.js'
import { type FaultMode, startFaultProxy } from './support/fault-proxy.js'
import { collect, waitFor } from './support/wait.js'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function anvil(opts: Parameters<typeof startAnvil>[0] = {}): Promise<AnvilNode> {
  const node = await startAnvil({ noMining: true, ...opts })
  cleanups.push(() => node.stop())
  return node
}

async function rpc<T = unknown>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  })
  const body = (await res.json()) as { result?: T; error?: unknown }
  if (body.error) throw new Error(`${method}: ${JSON.stringify(body.error)}`)
  return body.result as T
}
const mine = (url: string, blocks = 1) => rpc(url, 'anvil_mine', [`0x${blocks.toString(16)}`])
const headOf = async (url: string) => BigInt(await rpc<string>(url, 'eth_blockNumber'))

/** A viem client that counts the requests the watcher makes, by method. */
function countingClient(url: string) {
  const inner = createPublicClient({ transport: http(url, { retryCount: 0, timeout: 2_000 }) })
  const calls: Record<string, number> = {}
  const client: BlockWatcherOptions['client'] = {
    request: ((args: { method: string }) => {
      calls[args.method] = (calls[args.method] ?? 0) + 1
      return inner.request(args as never)
    }) as BlockWatcherOptions['client']['request'],
  }
  return { client, calls }
}

function watch(opts: BlockWatcherOptions) {
  const ac = new AbortController()
  const errors: unknown[] = []
  const watcher = new BlockWatcher({
    pollIntervalMs: 50,
    requestTimeoutMs: 1_000,
    backoff: { initialMs: 20, maxMs: 200 },
    onError: (e) => errors.push(e),
    ...opts,
  })
  const run = collect(watcher.blocks(ac.signal))
  cleanups.push(async () => {
    ac.abort()
    await run.done
  })
  return { ...run, errors, abort: () => ac.abort() }
}

const last = (items: WatchedBlock[]) => items.at(-1)?.number ?? -1n

/** Items are exactly blocks from..to, once each, matching what `url` holds now, each linked to the one before. */
async function expectExactly(items: WatchedBlock[], from: bigint, to: bigint, url: string) {
  const want = Array.from({ length: Number(to - from + 1n) }, (_, i) => from + BigInt(i))
  expect(items.map((b) => b.number)).toEqual(want)
  for (const b of items) {
    expect(b).toEqual(
      parseBlock(await rpc(url, 'eth_getBlockByNumber', [`0x${b.number.toString(16)}`, false])),
    )
  }
  for (let i = 1; i < items.length; i++) expect(items[i]!.parentHash).toBe(items[i - 1]!.hash)
}

describe('BlockWatcher', () => {
  it('yields exactly the mined blocks, in order, once each, filling gaps', async () => {
    const node = await anvil({ baseFee: 7n })
    const { client, calls } = countingClient(node.url)
    const w = watch({ client })
    await waitFor(() => w.items.length === 1, 'the head at start')
    expect(w.items[0]!.number).toBe(0n)

    for (let i = 0; i < 5; i++) await mine(node.url)
    await mine(node.url, 32) // many blocks between two polls: a gap to fill
    for (let i = 0; i < 3; i++) await mine(node.url)
    await waitFor(() => last(w.items) === 40n, 'block 40')

    // A few more polls after catching up must add nothing.
    const polls = calls.eth_blockNumber ?? 0
    await waitFor(() => (calls.eth_blockNumber ?? 0) >= polls + 3, 'three more polls')
    await expectExactly(w.items, 0n, 40n, node.url)
    expect(w.items[0]!.baseFeePerGas).toBe(7n)
    expect(w.items[0]!.gasLimit).toBeGreaterThan(0n)
    expect(w.items[40]!.timestamp).toBeGreaterThanOrEqual(w.items[0]!.timestamp)
    expect(w.errors).toEqual([])

    w.abort()
    await w.done
  })

  it('yields the head again when it is replaced at the same height (a reorg that adds no block)', async () => {
    const node = await anvil()
    await mine(node.url, 2)
    const w = watch({ client: countingClient(node.url).client })
    await waitFor(() => last(w.items) === 2n, 'block 2')
    const snapshot = await rpc<string>(node.url, 'evm_snapshot')
    await mine(node.url)
    await waitFor(() => last(w.items) === 3n, 'block 3')
    const first = w.items.at(-1) as WatchedBlock
    // Back to block 2 and a different block 3 (another timestamp): the chain does not grow.
    await rpc(node.url, 'evm_revert', [snapshot])
    await rpc(node.url, 'evm_mine', [Number(first.timestamp) + 100])
    await waitFor(() => w.items.length === 3 && w.items[2]?.hash !== first.hash, 'the replaced block 3')
    const replaced = w.items[2] as WatchedBlock
    expect(replaced.number).toBe(3n)
    expect(replaced.parentHash).toBe(first.parentHash)
    expect(replaced).toEqual(parseBlock(await rpc(node.url, 'eth_getBlockByNumber', ['0x3', false])))
    // Nothing more while the chain stays as it is.
    await new Promise((r) => setTimeout(r, 300))
    expect(w.items.map((b) => b.number)).toEqual([2n, 3n, 3n])
  })

  it('starts from a past block when asked, and ends when the consumer breaks', async () => {
    const node = await anvil()
    await mine(node.url, 20)
    const watcher = new BlockWatcher({
      client: countingClient(node.url).client,
      fromBlock: 10n,
      pollIntervalMs: 50,
    })
    const seen: WatchedBlock[] = []
    for await (const b of watcher.blocks()) {
      seen.push(b)
      if (b.number === 20n) break
    }
    await expectExactly(seen, 10n, 20n, node.url)
  })

  it('survives a refusing, failing, garbled, resetting and silent endpoint without losing or repeating a block', async () => {
    const node = await anvil()
    const proxy = await startFaultProxy(node.url)
    cleanups.push(() => proxy.close())
    const w = watch({ client: countingClient(proxy.url).client, requestTimeoutMs: 300 })
    await waitFor(() => w.items.length === 1, 'the head at start')

    const modes: FaultMode[] = ['refuse', 'http500', 'garbage', 'reset', 'hang']
    for (const mode of modes) {
      const before = w.errors.length
      await proxy.setMode(mode)
      await mine(node.url, 3) // blocks arrive while the endpoint misbehaves
      await waitFor(() => w.errors.length >= before + 2, `two failed polls in mode ${mode}`)
      await proxy.setMode('pass')
      await mine(node.url)
      const head = await headOf(node.url)
      await waitFor(() => last(w.items) === head, `catching up to ${head} after ${mode}`)
    }
    const head = await headOf(node.url)
    expect(head).toBe(20n)
    await expectExactly(w.items, 0n, head, node.url)
    for (const mode of ['http500', 'garbage', 'reset', 'hang'] as const)
      expect(proxy.counts[mode]).toBeGreaterThan(0)
  })

  it('aborting ends the iteration even while a request hangs', async () => {
    const node = await anvil()
    const proxy = await startFaultProxy(node.url)
    cleanups.push(() => proxy.close())
    const w = watch({ client: countingClient(proxy.url).client, requestTimeoutMs: 60_000 })
    await waitFor(() => w.items.length === 1, 'the head at start')
    await proxy.setMode('hang')
    await waitFor(() => proxy.counts.hang > 0, 'a hanging request')
    let ended = false
    void w.done.then(() => {
      ended = true
    })
    w.abort()
    await waitFor(() => ended, 'the iteration to end')
  })

  it('keeps going across a node restart that keeps the chain (--state)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'conveyor-watcher-'))
    cleanups.push(() => rm(dir, { recursive: true, force: true }))
    const stateFile = join(dir, 'state.json')
    const args = ['--state', stateFile, '--state-interval', '1']
    const first = await startAnvil({ noMining: true, extraArgs: args })
    cleanups.push(() => first.stop())
    const w = watch({ client: countingClient(first.url).client, requestTimeoutMs: 500 })
    await waitFor(() => w.items.length === 1, 'the head at start')
    await mine(first.url, 5)
    await waitFor(() => last(w.items) === 5n, 'block 5')
    await waitFor(async () => (await dumpedHead(stateFile)) === 5n, 'the state dump to hold block 5', {
      intervalMs: 100,
    })

    await first.stop()
    const errorsBefore = w.errors.length
    await waitFor(() => w.errors.length >= errorsBefore + 2, 'the watcher to notice the node is gone')
    const second = await anvil({ port: first.port, extraArgs: args })
    expect(await headOf(second.url)).toBe(5n)
    await mine(second.url, 3)
    await waitFor(() => last(w.items) === 8n, 'block 8 from the restarted node')
    // Same hashes on the restarted node for the blocks seen before: one unbroken chain.
    await expectExactly(w.items, 0n, 8n, second.url)
  })

  it('keeps going across a restart onto a fresh chain: waits for it to pass the blocks already yielded', async () => {
    const first = await anvil()
    await mine(first.url, 10)
    const counting = countingClient(first.url)
    const w = watch({ client: counting.client, requestTimeoutMs: 500 })
    await waitFor(() => w.items.length === 1, 'the head at start')
    expect(w.items[0]!.number).toBe(10n)

    await first.stop()
    const errorsBefore = w.errors.length
    await waitFor(() => w.errors.length >= errorsBefore + 2, 'the watcher to notice the node is gone')
    const second = await anvil({ port: first.port })
    await mine(second.url, 3)
    // The fresh chain's head (3) is below the next number to yield (11): nothing is yielded again.
    const polls = counting.calls.eth_blockNumber ?? 0
    await waitFor(() => (counting.calls.eth_blockNumber ?? 0) >= polls + 3, 'three polls of the fresh chain')
    expect(w.items.map((b) => b.number)).toEqual([10n])

    await mine(second.url, 10)
    await waitFor(() => last(w.items) === 13n, 'block 13 of the fresh chain')
    expect(w.items.map((b) => b.number)).toEqual([10n, 11n, 12n, 13n])
    await expectExactly(w.items.slice(1), 11n, 13n, second.url)
  })
})

async function dumpedHead(file: string): Promise<bigint | undefined> {
  try {
    const state = JSON.parse(await readFile(file, 'utf8')) as { best_block_number?: number | string }
    return state.best_block_number === undefined ? undefined : BigInt(state.best_block_number)
  } catch {
    return undefined // not written yet, or caught mid-write
  }
}
