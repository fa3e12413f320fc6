import { createServer, type IncomingMessage } from 'node:http'
import {
  createPublicClient,
  encodeFunctionData,
  HttpRequestError,
  http,
  type PublicClient,
  RpcRequestError,
  TimeoutError,
} from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { entryPointAbi } from '../src/chain/entrypoint.js'
import { nodeTransport } from '../src/chain/node-transport.js'
import { extractRevertData } from '../src/chain/revert.js'
import { startTestChain, type TestChain } from './harness/chain.js'
import { localListener } from './support/local-server.js'

/** What a request's error was: its class, the JSON-RPC code viem gives it, and the revert data. */
async function failure(p: Promise<unknown>) {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e as Error & { code?: number },
  )
  expect(err).toBeDefined()
  return { name: err?.name, code: err?.code, revert: extractRevertData(err) }
}

describe('node transport on anvil: what viem http gives', () => {
  let chain: TestChain
  let ours: PublicClient
  let viems: PublicClient
  let close: () => Promise<void>
  beforeAll(async () => {
    chain = await startTestChain()
    const node = nodeTransport(chain.url, { retryCount: 0 })
    close = node.close
    ours = createPublicClient({ transport: node.transport }) as PublicClient
    viems = createPublicClient({ transport: http(chain.url, { retryCount: 0 }) }) as PublicClient
  })
  afterAll(async () => {
    await close?.()
    await chain?.stop()
  })

  it('answers, reverts and refuses alike', async () => {
    expect(await ours.getChainId()).toBe(chain.chainId)
    const head = await viems.getBlockNumber({ cacheTime: 0 })
    expect((await ours.getBlock({ blockNumber: head })).hash).toBe(
      (await viems.getBlock({ blockNumber: head })).hash,
    )

    // The EntryPoint refuses to withdraw a deposit that is not there: a revert with a reason.
    const withdraw = {
      method: 'eth_call',
      params: [
        {
          to: chain.deployment.entryPoints['v0.7'],
          data: encodeFunctionData({
            abi: entryPointAbi('v0.7'),
            functionName: 'withdrawTo',
            args: [chain.deployment.entryPoints['v0.7'], 1n],
          }),
        },
        'latest',
      ],
    } as never
    const mine = await failure(ours.request(withdraw))
    const theirs = await failure(viems.request(withdraw))
    expect(mine.revert).toMatch(/^0x08c379a0/) // Error(string)
    expect(mine).toEqual(theirs)

    const unknown = { method: 'conveyor_noSuchMethod', params: [] } as never
    expect(await failure(ours.request(unknown))).toEqual(await failure(viems.request(unknown)))
  })

  it('carries 64 requests at once over its kept connections', async () => {
    const heads = await Promise.all(Array.from({ length: 64 }, () => ours.getBlockNumber({ cacheTime: 0 })))
    expect(new Set(heads).size).toBeLessThanOrEqual(2)
  })
})

describe('node transport against a misbehaving node', () => {
  let port: number
  let stop: () => Promise<void>
  let seen: IncomingMessage[] = []
  const answers: Record<string, (res: import('node:http').ServerResponse) => void> = {
    eth_chainId: (res) => res.end(JSON.stringify({ jsonrpc: '2.0', id: 1, result: '0x1' })),
    status500: (res) => {
      res.statusCode = 500
      res.end('upstream exploded')
    },
    rpcError400: (res) => {
      res.statusCode = 400
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ jsonrpc: '2.0', id: 1, error: { code: -32601, message: 'no such method' } }))
    },
    slow: (res) => {
      setTimeout(() => res.end(JSON.stringify({ jsonrpc: '2.0', id: 1, result: '0x1' })), 1_000)
    },
    huge: (res) => {
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ jsonrpc: '2.0', id: 1, result: `0x${'00'.repeat(6 * 1024 * 1024)}` }))
    },
  }
  beforeAll(async () => {
    const server = createServer((req, res) => {
      seen.push(req)
      let text = ''
      req.on('data', (c) => {
        text += c
      })
      req.on('end', () => {
        const { method } = JSON.parse(text) as { method: string }
        ;(answers[method] ?? answers.eth_chainId)?.(res)
      })
    })
    const l = localListener(server)
    port = await l.listen(0)
    stop = l.close
  })
  afterAll(async () => {
    await stop?.()
  })

  function client(timeout = 5_000, auth = '') {
    const node = nodeTransport(`http://${auth}127.0.0.1:${port}/rpc`, { retryCount: 0, timeout })
    return { c: createPublicClient({ transport: node.transport }), close: node.close }
  }

  it('sends credentials in the URL as basic auth and never shows them in an error', async () => {
    seen = []
    const { c, close } = client(5_000, 'operator:s3cret@')
    expect(await c.getChainId()).toBe(1)
    expect(seen[0]?.headers.authorization).toBe(`Basic ${Buffer.from('operator:s3cret').toString('base64')}`)
    expect(seen[0]?.url).toBe('/rpc')
    const err = await c.request({ method: 'status500' } as never).catch((e: Error) => e)
    expect(err).toBeInstanceOf(HttpRequestError)
    expect((err as HttpRequestError).status).toBe(500)
    expect(String((err as Error).message)).not.toContain('s3cret')
    await close()
  })

  it('reads a JSON-RPC error whatever the HTTP status, times out, and refuses an oversized body', async () => {
    const { c, close } = client(300)
    const rpc = await c.request({ method: 'rpcError400' } as never).catch((e: Error) => e)
    expect((rpc as { code?: number }).code).toBe(-32601)
    expect((rpc as Error & { cause?: unknown }).cause).toBeInstanceOf(RpcRequestError)
    const slow = await c.request({ method: 'slow' } as never).catch((e: Error) => e)
    expect(slow).toBeInstanceOf(TimeoutError)
    await close()
    const roomy = client(5_000)
    const huge = await roomy.c.request({ method: 'huge' } as never).catch((e: Error) => e)
    expect(huge).toBeInstanceOf(HttpRequestError)
    expect((huge as Error).message).toMatch(/over 10485760 bytes/)
    await roomy.close()
  })
})
