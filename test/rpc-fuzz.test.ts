import fc from 'fast-check'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import type { PublicClient } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ENTRY_POINTS } from '../src/chain/entrypoint.js'
import type { Pool, PoolDebug, PoolQuery } from '../src/pool/types.js'
import { type RpcServer, startRpcServer } from '../src/rpc/server.js'
import type { GasEstimator } from '../src/sim/types.js'

/**
 * Fuzz over real HTTP: malformed requests of every kind must each get a well-formed JSON-RPC error
 * (HTTP 200 or 4xx), never a 5xx, a crash or an internal error, and the server keeps serving.
 * The pool and estimator throw if reached: nothing malformed may get past parameter parsing.
 */

const RUNS = 10_000
const CONCURRENCY = 8
const MAX_BODY = 16 * 1024
const MAX_BATCH = 20
const EP = ENTRY_POINTS['v0.7'].address

const unreachable = () => {
  throw new Error('FUZZ: malformed input reached the pool or estimator')
}
// /health may ask whether the pool is current; everything else is off limits
const pool = new Proxy(
  {},
  { get: (_t, key) => (key === 'isCurrent' ? async () => true : unreachable) },
) as unknown as Pool & PoolQuery & PoolDebug
const estimator: GasEstimator = { estimate: async () => unreachable() }
const client = {
  getBlockNumber: async () => 1n,
  getLogs: async () => [],
} as unknown as PublicClient

const validOp = {
  sender: '0x1111111111111111111111111111111111111111',
  nonce: '0x1',
  callData: '0xabcd',
  callGasLimit: '0x5208',
  verificationGasLimit: '0x186a0',
  preVerificationGas: '0xc350',
  maxFeePerGas: '0x3b9aca00',
  maxPriorityFeePerGas: '0x1',
  signature: `0x${'11'.repeat(65)}`,
}
const FIELDS = Object.keys(validOp) as (keyof typeof validOp)[]
const KIND: Record<keyof typeof validOp, 'address' | 'quantity' | 'bytes'> = {
  sender: 'address',
  nonce: 'quantity',
  callData: 'bytes',
  callGasLimit: 'quantity',
  verificationGasLimit: 'quantity',
  preVerificationGas: 'quantity',
  maxFeePerGas: 'quantity',
  maxPriorityFeePerGas: 'quantity',
  signature: 'bytes',
}
/** Values that are wrong for every field of their kind. */
const BAD_HEX = {
  address: [
    '0x12',
    `0x${'1'.repeat(39)}`,
    `0x${'1'.repeat(41)}`,
    '0x0000000071727de22E5E9d8BAf0edAc6f37da032',
    '0xg111111111111111111111111111111111111111',
    '1111111111111111111111111111111111111111',
    '',
  ],
  quantity: [
    '0x',
    '0xg',
    '12',
    '-0x1',
    '0X1',
    ' 0x1',
    '0x1 ',
    `0x1${'0'.repeat(64)}`,
    '0x١',
    '0x0.5',
    `0x${'f'.repeat(5000)}`,
  ],
  bytes: ['0x1', '0xabc', '0xzz', 'abcd', '0X12', ' 0x12', '0x12 ', 'null', '0x٠٠'],
}
const KNOWN_METHODS = [
  'eth_sendUserOperation',
  'eth_estimateUserOperationGas',
  'eth_getUserOperationByHash',
  'eth_getUserOperationReceipt',
  'eth_supportedEntryPoints',
  'eth_chainId',
  'web3_clientVersion',
  'debug_bundler_clearState',
  'debug_bundler_dumpMempool',
  'debug_bundler_setReputation',
  'debug_bundler_getStakeStatus',
]

type Sample = { path: string; body: string | Uint8Array<ArrayBuffer>; notes: string }

const json = (v: unknown) => JSON.stringify(v)
const req = (method: string, params: unknown, id: unknown = 1) => ({ jsonrpc: '2.0', id, method, params })
const nonString = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.jsonValue(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue(), { maxKeys: 3 }),
)

/** Request objects that are invalid (each must be answered with an error, even inside a batch). */
const badRequest: fc.Arbitrary<unknown> = fc.oneof(
  // wrong types in the op
  fc
    .record({
      f: fc.constantFrom(...FIELDS),
      v: nonString,
      m: fc.constantFrom('eth_sendUserOperation', 'eth_estimateUserOperationGas'),
    })
    // null means absent, which the estimation draft allows for gas and fee fields
    .map(({ f, v, m }) => req(m, [{ ...validOp, [f]: v === null ? false : v }, EP])),
  // bad hex in the op
  fc.record({ f: fc.constantFrom(...FIELDS), i: fc.nat() }).map(({ f, i }) => {
    const bad = BAD_HEX[KIND[f]]
    return req('eth_sendUserOperation', [{ ...validOp, [f]: bad[i % bad.length] }, EP])
  }),
  // missing fields, unknown fields
  fc.constantFrom(...FIELDS).map((f) => {
    const { [f]: _, ...rest } = validOp
    return req('eth_sendUserOperation', [rest, EP])
  }),
  fc
    .string({ minLength: 1, maxLength: 12 })
    .filter((k) => !(k in validOp) && !k.startsWith('factory') && !k.startsWith('paymaster'))
    .map((k) => req('eth_sendUserOperation', [{ ...validOp, [k]: '0x' }, EP])),
  // bad entry points and parameter lists
  fc
    .oneof(
      fc.constantFrom(...BAD_HEX.address),
      nonString,
      fc.constant('0x2222222222222222222222222222222222222222'),
    )
    .map((ep) => req('eth_sendUserOperation', [validOp, ep])),
  fc.array(fc.jsonValue(), { maxLength: 4 }).map((p) => req('eth_sendUserOperation', p)),
  // known methods with random, non-empty params (never a valid call)
  fc
    .record({ m: fc.constantFrom(...KNOWN_METHODS), p: fc.array(nonString, { minLength: 1, maxLength: 4 }) })
    .map(({ m, p }) => req(m, p)),
  fc
    .record({ m: fc.constantFrom(...KNOWN_METHODS), p: fc.oneof(fc.string(), fc.integer(), fc.boolean()) })
    .map(({ m, p }) => req(m, p)),
  // random methods (debug ones are disabled here)
  fc
    .string({ maxLength: 40 })
    .filter((m) => !KNOWN_METHODS.includes(m))
    .map((m) => req(m, [])),
  fc
    .constantFrom(
      'debug_bundler_clearMempool',
      'debug_bundler_dumpReputation',
      'debug_bundler_clearReputation',
    )
    .map((m) => req(m, [EP])),
  // broken envelopes
  fc.record({
    jsonrpc: fc.oneof(nonString, fc.constantFrom('1.0', '2', '')),
    id: fc.integer(),
    method: fc.constant('eth_chainId'),
  }),
  fc.record({ jsonrpc: fc.constant('2.0'), id: fc.integer(), method: nonString }),
  fc.record({
    jsonrpc: fc.constant('2.0'),
    id: fc.oneof(fc.boolean(), fc.array(fc.integer()), fc.dictionary(fc.string(), fc.integer())),
    method: fc.constant('eth_chainId'),
  }),
  fc
    .jsonValue({ maxDepth: 3 })
    .filter(
      (v) =>
        typeof v !== 'object' ||
        v === null ||
        Array.isArray(v) ||
        (v as { jsonrpc?: unknown }).jsonrpc !== '2.0',
    ),
  // huge numbers
  fc
    .constantFrom('0x', '1')
    .chain((p) =>
      fc.integer({ min: 65, max: 3000 }).map((n) => req('eth_getUserOperationByHash', [p + 'f'.repeat(n)])),
    ),
  fc
    .bigInt({ min: 1n << 256n, max: 1n << 300n })
    .map((n) => req('eth_sendUserOperation', [{ ...validOp, nonce: `0x${n.toString(16)}` }, EP])),
  fc
    .bigInt({ min: 1n << 128n, max: (1n << 256n) - 1n })
    .map((n) => req('eth_sendUserOperation', [{ ...validOp, callGasLimit: `0x${n.toString(16)}` }, EP])),
)

/** Whole bodies: raw text or bytes, each of which must be answered with a JSON-RPC error. */
const sample: fc.Arbitrary<Sample> = fc.oneof(
  { weight: 30, arbitrary: badRequest.map((r) => ({ path: '/', body: json(r), notes: 'bad request' })) },
  {
    weight: 8,
    arbitrary: fc
      .array(badRequest, { minLength: 1, maxLength: 8 })
      .map((rs) => ({ path: '/rpc', body: json(rs), notes: 'batch' })),
  },
  {
    weight: 2,
    arbitrary: fc.integer({ min: MAX_BATCH + 1, max: 3 * MAX_BATCH }).map((n) => ({
      path: '/',
      body: json(Array.from({ length: n }, (_, i) => req('eth_chainId', [], i))),
      notes: 'batch over limit',
    })),
  },
  {
    weight: 10,
    arbitrary: fc
      .uint8Array({ maxLength: 600 })
      .map((b) => ({ path: '/', body: new Uint8Array(b), notes: 'random bytes' })),
  },
  {
    weight: 10,
    arbitrary: fc
      .record({
        r: badRequest,
        valid: fc.constantFrom(req('eth_sendUserOperation', [validOp, EP]), req('eth_chainId', [])),
        useValid: fc.boolean(),
        cut: fc.double({ min: 0, max: 0.999, noNaN: true }),
      })
      .map(({ r, valid, useValid, cut }) => {
        const s = json(useValid ? valid : r)
        return { path: '/', body: s.slice(0, Math.floor(s.length * cut)), notes: 'truncated' }
      }),
  },
  {
    weight: 6,
    arbitrary: fc
      .record({ n: fc.integer({ min: 1, max: 20_000 }), obj: fc.boolean(), inParams: fc.boolean() })
      .map(({ n, obj, inParams }) => {
        const deep = obj ? '{"a":'.repeat(n) + '1' + '}'.repeat(n) : '['.repeat(n) + ']'.repeat(n)
        const body = inParams
          ? `{"jsonrpc":"2.0","id":1,"method":"eth_estimateUserOperationGas","params":[${json(validOp)},"${EP}",${deep}]}`
          : deep
        return { path: '/', body, notes: 'deep nesting' }
      }),
  },
  {
    weight: 2,
    arbitrary: fc.integer({ min: MAX_BODY + 1, max: 4 * MAX_BODY }).map((n) => ({
      path: '/',
      body: `{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":["${'a'.repeat(n)}"]}`,
      notes: 'oversized',
    })),
  },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom(
        '{"jsonrpc":"2.0","id":1e400,"method":"eth_chainId"}',
        '{"jsonrpc":"2.0","id":-1e999,"method":"eth_chainId"}',
        '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[1e400]}',
        '{"__proto__":{"jsonrpc":"2.0"},"id":1,"method":"eth_chainId"}',
        '{"jsonrpc":"2.0","id":1,"method":"constructor","params":[]}',
        '{"jsonrpc":"2.0","id":1,"method":"__proto__","params":[]}',
        '{"jsonrpc":"2.0","id":1,"method":"hasOwnProperty","params":[]}',
      )
      .map((body) => ({ path: '/', body, notes: 'edge' })),
  },
  {
    weight: 2,
    arbitrary: fc
      .webPath()
      .filter((p) => !['/', '/rpc', '/health', '/metrics', ''].includes(p.split('?')[0] ?? ''))
      .map((p) => ({ path: p.startsWith('/') ? p : `/${p}`, body: '{}', notes: 'bad path' })),
  },
)

interface Failure {
  notes: string
  body: string
  status: number
  answer: string
}

/** A JSON-RPC error response: exactly jsonrpc, id, error; an integer code; never -32603. */
function isWellFormedError(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false
  const r = v as Record<string, unknown>
  const keys = Object.keys(r).sort().join(',')
  if (keys !== 'error,id,jsonrpc' || r.jsonrpc !== '2.0') return false
  if (!(r.id === null || typeof r.id === 'string' || typeof r.id === 'number')) return false
  const e = r.error as Record<string, unknown> | null
  if (typeof e !== 'object' || e === null) return false
  return Number.isInteger(e.code) && e.code !== -32603 && typeof e.message === 'string'
}

describe('RPC fuzz over HTTP', () => {
  let server: RpcServer
  beforeAll(async () => {
    server = await startRpcServer({
      chainId: 31337,
      entryPoints: [EP, ENTRY_POINTS['v0.8'].address],
      pool,
      estimator,
      client,
      registry: new Registry(),
      logger: pino({ level: 'silent' }),
      enableDebug: false,
      maxBodyBytes: MAX_BODY,
      maxBatchSize: MAX_BATCH,
    })
  })
  afterAll(async () => {
    await server?.close()
  })

  it(`answers ${RUNS} malformed requests with well-formed JSON-RPC errors and keeps serving`, async () => {
    const samples = fc.sample(sample, { numRuns: RUNS, seed: 4337 })
    expect(samples).toHaveLength(RUNS)
    const failures: Failure[] = []
    const kinds = new Map<string, number>()
    let next = 0
    const worker = async () => {
      // bounded: each worker takes indices until the fixed sample list is exhausted
      while (next < samples.length) {
        const s = samples[next++]!
        kinds.set(s.notes, (kinds.get(s.notes) ?? 0) + 1)
        const res = await fetch(server.url + s.path, {
          method: 'POST',
          body: s.body,
          headers: { 'content-type': 'application/json' },
          signal: AbortSignal.timeout(10_000),
        })
        const text = await res.text()
        let ok = res.status === 200 || (res.status >= 400 && res.status < 500)
        if (ok) {
          try {
            const parsed: unknown = JSON.parse(text)
            const items = Array.isArray(parsed) ? parsed : [parsed]
            ok = items.length > 0 && items.every(isWellFormedError)
          } catch {
            ok = false
          }
        }
        if (!ok && failures.length < 10) {
          const body = typeof s.body === 'string' ? s.body : Buffer.from(s.body).toString('hex')
          failures.push({
            notes: s.notes,
            body: body.slice(0, 300),
            status: res.status,
            answer: text.slice(0, 300),
          })
        }
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, worker))

    expect(failures).toEqual([])
    // every category was exercised
    for (const k of [
      'bad request',
      'batch',
      'batch over limit',
      'random bytes',
      'truncated',
      'deep nesting',
      'oversized',
      'edge',
      'bad path',
    ])
      expect(kinds.get(k) ?? 0, k).toBeGreaterThan(10)

    const after = await fetch(server.url, {
      method: 'POST',
      body: json([req('eth_chainId', [], 1), req('eth_supportedEntryPoints', [], 2)]),
    })
    expect(after.status).toBe(200)
    expect(await after.json()).toEqual([
      { jsonrpc: '2.0', id: 1, result: '0x7a69' },
      { jsonrpc: '2.0', id: 2, result: [EP, ENTRY_POINTS['v0.8'].address] },
    ])
    expect((await fetch(`${server.url}/health`)).status).toBe(200)
  }, 180_000)
})
