import { connect, type Socket } from 'node:net'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import type { PublicClient } from 'viem'
import { afterEach, describe, expect, it } from 'vitest'
import { ENTRY_POINTS } from '../src/chain/entrypoint.js'
import type { Pool, PoolDebug, PoolQuery } from '../src/pool/types.js'
import { type RpcServer, type RpcServerDeps, startRpcServer } from '../src/rpc/server.js'
import type { GasEstimator } from '../src/sim/types.js'
import { RpcCode } from '../src/util/errors.js'

/** HTTP hardening of the JSON-RPC server: body limit, CORS, per-IP rate limit, connection cap. */

const pool = new Proxy(
  {},
  {
    get: (_t, key) =>
      key === 'isCurrent'
        ? async () => true
        : () => {
            throw new Error('not used')
          },
  },
) as unknown as Pool & PoolQuery & PoolDebug
const estimator = {} as GasEstimator
const client = { getBlockNumber: async () => 7n, getLogs: async () => [] } as unknown as PublicClient
const CHAIN_ID = { jsonrpc: '2.0', id: 1, method: 'eth_chainId' }

const started: RpcServer[] = []
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.close()))
})

async function start(opts: Partial<RpcServerDeps> = {}): Promise<RpcServer> {
  const server = await startRpcServer({
    chainId: 31337,
    entryPoints: [ENTRY_POINTS['v0.7'].address],
    pool,
    estimator,
    client,
    registry: new Registry(),
    logger: pino({ level: 'silent' }),
    enableDebug: false,
    ...opts,
  })
  started.push(server)
  return server
}

const post = (url: string, body: string, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } })

describe('RPC HTTP: body limit', () => {
  it('a 20 MiB body gets a 413 that fetch reads, as a JSON-RPC error; the server keeps serving', async () => {
    const server = await start() // default limit 1 MiB
    const body = JSON.stringify({ ...CHAIN_ID, params: ['x'.repeat(20 * 1024 * 1024)] })
    for (let i = 0; i < 3; i++) {
      const res = await post(server.url, body)
      expect(res.status).toBe(413)
      const answer = await res.json()
      expect(answer).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: RpcCode.InvalidRequest } })
      expect(answer.error.message).toBe(`request body exceeds ${1024 * 1024} bytes`)
    }
    expect(await (await post(server.url, JSON.stringify(CHAIN_ID))).json()).toEqual({
      jsonrpc: '2.0',
      id: 1,
      result: '0x7a69',
    })
  })

  it('a streamed body with no Content-Length is cut at the limit with the same 413', async () => {
    const server = await start({ maxBodyBytes: 64 * 1024 })
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024))
    let sent = 0
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent++ < 40) c.enqueue(chunk)
        else c.close()
      },
    })
    const res = await fetch(server.url, { method: 'POST', body: stream, duplex: 'half' } as RequestInit)
    expect(res.status).toBe(413)
    expect((await res.json()).error.message).toContain('65536 bytes')
  })
})

describe('RPC HTTP: CORS', () => {
  const preflight = (url: string, origin: string) =>
    fetch(url, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    })

  it('none: no Access-Control-Allow-Origin, so browsers refuse cross-origin calls', async () => {
    const server = await start({ corsOrigins: [] })
    expect(
      (await preflight(server.url, 'https://evil.example')).headers.get('access-control-allow-origin'),
    ).toBeNull()
    const res = await post(server.url, JSON.stringify(CHAIN_ID), { origin: 'https://evil.example' })
    expect(res.headers.get('access-control-allow-origin')).toBeNull()
    expect((await res.json()).result).toBe('0x7a69') // same-origin and non-browser clients still work
  })

  it('*: any origin', async () => {
    const server = await start({ corsOrigins: ['*'] })
    const pre = await preflight(server.url, 'https://wallet.example')
    expect(pre.status).toBe(204)
    expect(pre.headers.get('access-control-allow-origin')).toBe('*')
    expect(pre.headers.get('access-control-allow-methods')).toContain('POST')
    const res = await post(server.url, JSON.stringify(CHAIN_ID), { origin: 'https://wallet.example' })
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
  })

  it('a list: listed origins are answered by name, others get nothing', async () => {
    const server = await start({ corsOrigins: ['https://app.example', 'http://localhost:5173'] })
    const ok = await post(server.url, JSON.stringify(CHAIN_ID), { origin: 'http://localhost:5173' })
    expect(ok.headers.get('access-control-allow-origin')).toBe('http://localhost:5173')
    const pre = await preflight(server.url, 'https://app.example')
    expect(pre.headers.get('access-control-allow-origin')).toBe('https://app.example')
    const other = await post(server.url, JSON.stringify(CHAIN_ID), { origin: 'https://evil.example' })
    expect(other.headers.get('access-control-allow-origin')).toBeNull()
  })
})

describe('RPC HTTP: per-IP rate limit', () => {
  it('answers HTTP 429 with JSON-RPC error -32005 past the limit; /health is not limited', async () => {
    const server = await start({ rateLimit: { perIp: 5, windowMs: 60_000 } })
    const answers = []
    for (let i = 0; i < 7; i++) {
      const res = await post(server.url, JSON.stringify([CHAIN_ID, CHAIN_ID])) // a batch counts once
      answers.push({ status: res.status, body: await res.json() })
    }
    expect(answers.slice(0, 5).every((a) => a.status === 200 && a.body.length === 2)).toBe(true)
    for (const a of answers.slice(5)) {
      expect(a.status).toBe(429)
      expect(a.body).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32005 } })
      expect(a.body.error.message).toMatch(/rate limit/i)
    }
    expect((await fetch(`${server.url}/health`)).status).toBe(200)
  })

  it('is off by default', async () => {
    const server = await start()
    for (let i = 0; i < 30; i++) expect((await post(server.url, JSON.stringify(CHAIN_ID))).status).toBe(200)
  })
})

describe('RPC HTTP: connection cap', () => {
  it('refuses connections beyond rpc.max_connections and serves again once one closes', async () => {
    const server = await start({ maxConnections: 2 })
    const { port } = new URL(server.url)
    const open = (): Promise<Socket> =>
      new Promise((resolve, reject) => {
        const s = connect(Number(port), '127.0.0.1', () => resolve(s))
        s.once('error', reject)
      })
    const held = [await open(), await open()]
    // Node's server closes a connection over the cap as soon as it is accepted.
    const third = await open()
    const closedAtOnce = await new Promise<boolean>((resolve) => {
      third.once('close', () => resolve(true))
      third.write(
        `POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${JSON.stringify(CHAIN_ID).length}\r\n\r\n${JSON.stringify(CHAIN_ID)}`,
      )
      setTimeout(() => resolve(false), 5000)
    })
    expect(closedAtOnce).toBe(true)
    for (const s of held) s.destroy()
    const deadline = Date.now() + 5000
    let answered = false
    while (!answered && Date.now() < deadline) {
      answered = await post(server.url, JSON.stringify(CHAIN_ID))
        .then((r) => r.status === 200)
        .catch(() => false)
      if (!answered) await new Promise((r) => setTimeout(r, 50))
    }
    expect(answered).toBe(true)
  })
})
