import { connect } from 'node:net'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { type Address, type Hash, type PublicClient, zeroAddress } from 'viem'
import { afterEach, describe, expect, it } from 'vitest'
import { ENTRY_POINTS } from '../src/chain/entrypoint.js'
import { type UserOperation, userOpHash } from '../src/chain/userop.js'
import type {
  MinedOpInfo,
  Pool,
  PoolDebug,
  PoolOp,
  PoolQuery,
  ReputationEntry,
  StakeStatus,
} from '../src/pool/types.js'
import { type RpcServer, type RpcServerDeps, startRpcServer } from '../src/rpc/server.js'
import type { GasEstimate, GasEstimator, StateOverrideSet, UserOperationDraft } from '../src/sim/types.js'
import { RpcCode, RpcError } from '../src/util/errors.js'

const EP7 = ENTRY_POINTS['v0.7'].address
const EP8 = ENTRY_POINTS['v0.8'].address
const CHAIN_ID = 31337
const SENDER = '0x1111111111111111111111111111111111111111' as Address
const PAYMASTER = '0x2222222222222222222222222222222222222222' as Address

const wireOp = (nonce = '0x1') => ({
  sender: SENDER,
  nonce,
  callData: '0xabcd',
  callGasLimit: '0x5208',
  verificationGasLimit: '0x186a0',
  preVerificationGas: '0xc350',
  maxFeePerGas: '0x3b9aca00',
  maxPriorityFeePerGas: '0x1',
  signature: `0x${'11'.repeat(65)}`,
})

/** An in-memory pool: remembers what the RPC asked of it. */
class FakePool implements Pool, PoolQuery, PoolDebug {
  ops = new Map<Hash, PoolOp>()
  mined = new Map<Hash, MinedOpInfo>()
  current = true
  calls: string[] = []
  reputation: ReputationEntry[] = []
  failNext: unknown

  async addOp(entryPoint: Address, op: UserOperation): Promise<Hash> {
    if (this.failNext) {
      const e = this.failNext
      this.failNext = undefined
      throw e
    }
    const hash = userOpHash(op, entryPoint, CHAIN_ID, 'v0.7')
    this.ops.set(hash, { hash, entryPoint, op, seq: this.ops.size, validation: {} as PoolOp['validation'] })
    return hash
  }
  async getOps() {
    return [...this.ops.values()]
  }
  async removeOps() {}
  async updateEntities() {}
  async *subscribeNewHeads() {}
  async getOp(hash: Hash) {
    return this.ops.get(hash)
  }
  async getMinedOp(hash: Hash) {
    return this.mined.get(hash)
  }
  async isCurrent() {
    return this.current
  }
  async dumpMempool(entryPoint: Address) {
    this.calls.push(`dumpMempool ${entryPoint}`)
    return [...this.ops.values()].filter((o) => o.entryPoint === entryPoint)
  }
  async clearMempool() {
    this.calls.push('clearMempool')
    this.ops.clear()
  }
  async clearState() {
    this.calls.push('clearState')
    this.ops.clear()
    this.reputation = []
  }
  async dumpReputation(entryPoint: Address) {
    this.calls.push(`dumpReputation ${entryPoint}`)
    return this.reputation
  }
  async setReputation(entryPoint: Address, entries: ReputationEntry[]) {
    this.calls.push(`setReputation ${entryPoint}`)
    this.reputation = entries
  }
  async clearReputation() {
    this.calls.push('clearReputation')
    this.reputation = []
  }
  async getStakeStatus(entryPoint: Address, address: Address): Promise<StakeStatus> {
    this.calls.push(`getStakeStatus ${entryPoint} ${address}`)
    return { stakeInfo: { addr: address, stake: 10n ** 18n, unstakeDelaySec: 86400n }, isStaked: true }
  }
}

class FakeEstimator implements GasEstimator {
  last?: { entryPoint: Address; op: UserOperationDraft; stateOverride?: StateOverrideSet }
  async estimate(entryPoint: Address, op: UserOperationDraft, stateOverride?: StateOverrideSet) {
    this.last = { entryPoint, op, stateOverride }
    const est: GasEstimate = {
      preVerificationGas: 50_000n,
      verificationGasLimit: 100_000n,
      callGasLimit: 21_000n,
    }
    if (op.paymaster) {
      est.paymasterVerificationGasLimit = 30_000n
      est.paymasterPostOpGasLimit = 0n
    }
    return est
  }
}

/** Only what the server touches: /health's block number and op lookup's (empty) log search. */
function fakeClient(state: { up: boolean }): PublicClient {
  return {
    async getBlockNumber() {
      if (!state.up) throw new Error('connection refused')
      return 42n
    },
    async getLogs() {
      return []
    },
  } as unknown as PublicClient
}

interface Ctx {
  server: RpcServer
  pool: FakePool
  estimator: FakeEstimator
  node: { up: boolean }
  registry: Registry
  logs: string[]
}

const started: RpcServer[] = []
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.close()))
})

async function start(opts: Partial<RpcServerDeps> = {}): Promise<Ctx> {
  const pool = new FakePool()
  const estimator = new FakeEstimator()
  const node = { up: true }
  const registry = new Registry()
  const logs: string[] = []
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk))
      cb()
    },
  })
  const server = await startRpcServer({
    chainId: CHAIN_ID,
    entryPoints: [EP7, EP8],
    pool,
    estimator,
    client: fakeClient(node),
    registry,
    logger: pino({ level: 'info' }, sink),
    enableDebug: false,
    port: 0,
    ...opts,
  })
  started.push(server)
  return { server, pool, estimator, node, registry, logs }
}

async function post(url: string, body: string, path = '/') {
  const res = await fetch(url + path, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json' },
  })
  const text = await res.text()
  return { status: res.status, text, json: text ? JSON.parse(text) : undefined }
}

// biome-ignore lint/suspicious/noExplicitAny: answers are asserted field by field; typing each is noise
type Loose = any

let nextId = 1
async function call(ctx: Ctx, method: string, params?: unknown[]) {
  const id = nextId++
  const r = await post(ctx.server.url, JSON.stringify({ jsonrpc: '2.0', id, method, params }))
  expect(r.status).toBe(200)
  expect(r.json.id).toBe(id)
  expect(r.json.jsonrpc).toBe('2.0')
  return r.json as { result?: Loose; error?: { code: number; message: string; data?: Loose } }
}

/** Raw bytes over TCP, for what fetch refuses to send. */
function rawHttp(url: string, data: string): Promise<string> {
  const { port } = new URL(url)
  return new Promise((resolve, reject) => {
    const sock = connect(Number(port), '127.0.0.1')
    let out = ''
    sock.on('data', (d) => {
      out += d.toString()
    })
    sock.on('error', reject)
    sock.on('close', () => resolve(out))
    sock.write(data)
    setTimeout(() => sock.end(), 300)
  })
}

describe('RPC server: eth namespace', () => {
  it('listens on a free port and serves eth_chainId, eth_supportedEntryPoints, web3_clientVersion on / and /rpc', async () => {
    const ctx = await start()
    expect(ctx.server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(ctx.server.port).toBeGreaterThan(0)
    expect((await call(ctx, 'eth_chainId')).result).toBe('0x7a69')
    expect((await call(ctx, 'eth_supportedEntryPoints', [])).result).toEqual([EP7, EP8])
    expect((await call(ctx, 'web3_clientVersion')).result).toMatch(/^conveyor\/\d+\.\d+\.\d+/)
    const viaRpc = await post(ctx.server.url, '{"jsonrpc":"2.0","id":"a","method":"eth_chainId"}', '/rpc')
    expect(viaRpc.json).toEqual({ jsonrpc: '2.0', id: 'a', result: '0x7a69' })
  })

  it('eth_sendUserOperation parses the op, checksums the entry point and returns the pool hash', async () => {
    const ctx = await start()
    const r = await call(ctx, 'eth_sendUserOperation', [wireOp(), EP7.toLowerCase()])
    expect(r.result).toMatch(/^0x[0-9a-f]{64}$/)
    const stored = ctx.pool.ops.get(r.result)
    expect(stored?.entryPoint).toBe(EP7)
    expect(stored?.op.nonce).toBe(1n)
    expect(stored?.op.callGasLimit).toBe(21000n)
  })

  it('rejects an unknown entry point, bad fields and wrong param counts with -32602', async () => {
    const ctx = await start()
    const unknownEp = await call(ctx, 'eth_sendUserOperation', [wireOp(), PAYMASTER])
    expect(unknownEp.error?.code).toBe(RpcCode.InvalidParams)
    expect(unknownEp.error?.message).toContain('unsupported entry point')
    expect(unknownEp.error?.data.supportedEntryPoints).toEqual([EP7, EP8])

    const badHex = await call(ctx, 'eth_sendUserOperation', [{ ...wireOp(), nonce: '0xzz' }, EP7])
    expect(badHex.error?.code).toBe(RpcCode.InvalidParams)
    expect(badHex.error?.message).toContain('params[0].nonce')

    const extra = await call(ctx, 'eth_sendUserOperation', [{ ...wireOp(), eip7702Auth: {} }, EP7])
    expect(extra.error?.message).toContain(
      'params[0].eip7702Auth: EIP-7702 authorizations are served on EntryPoint v0.8 and v0.9, not v0.7',
    )
    const unknown = await call(ctx, 'eth_sendUserOperation', [{ ...wireOp(), authorization: {} }, EP7])
    expect(unknown.error?.message).toContain('unknown field authorization')
    // On v0.8 the authorization's shape is checked field by field.
    const shape = await call(ctx, 'eth_sendUserOperation', [
      { ...wireOp(), factory: '0x7702', eip7702Auth: { chainId: '0x1' } },
      EP8,
    ])
    expect(shape.error?.code).toBe(RpcCode.InvalidParams)
    expect(shape.error?.message).toContain('params[0].eip7702Auth.address: missing')

    expect((await call(ctx, 'eth_sendUserOperation', [wireOp()])).error?.code).toBe(RpcCode.InvalidParams)
    expect((await call(ctx, 'eth_chainId', [1])).error?.code).toBe(RpcCode.InvalidParams)
    expect(ctx.pool.ops.size).toBe(0)
  })

  it('passes the pool’s ERC-4337 errors through with code, message and data', async () => {
    const ctx = await start()
    ctx.pool.failNext = new RpcError(RpcCode.RejectedByEpOrAccount, 'AA23 reverted', { reason: 'x' })
    const r = await call(ctx, 'eth_sendUserOperation', [wireOp(), EP7])
    expect(r.error).toEqual({ code: -32500, message: 'AA23 reverted', data: { reason: 'x' } })
  })

  it('turns an unexpected exception into -32603 with a generic message and logs the detail', async () => {
    const ctx = await start()
    ctx.pool.failNext = new Error('db password hunter2 leaked')
    const r = await call(ctx, 'eth_sendUserOperation', [wireOp(), EP7])
    expect(r.error).toEqual({ code: RpcCode.InternalError, message: 'internal error' })
    expect(ctx.logs.join('')).toContain('RPC handler failed')
    expect(ctx.logs.join('')).toContain('eth_sendUserOperation')
  })

  it('eth_estimateUserOperationGas accepts a draft, passes the state override and answers hex', async () => {
    const ctx = await start()
    const { callGasLimit, verificationGasLimit, preVerificationGas, ...draft } = wireOp()
    const override = { [SENDER]: { balance: '0xde0b6b3a7640000' } }
    const r = await call(ctx, 'eth_estimateUserOperationGas', [draft, EP8, override])
    expect(r.result).toEqual({
      preVerificationGas: '0xc350',
      verificationGasLimit: '0x186a0',
      callGasLimit: '0x5208',
    })
    expect(ctx.estimator.last?.entryPoint).toBe(EP8)
    expect(ctx.estimator.last?.op.callGasLimit).toBeUndefined()
    expect(ctx.estimator.last?.stateOverride).toEqual({ [SENDER]: { balance: '0xde0b6b3a7640000' } })

    const withPm = await call(ctx, 'eth_estimateUserOperationGas', [{ ...draft, paymaster: PAYMASTER }, EP8])
    expect(withPm.result.paymasterVerificationGasLimit).toBe('0x7530')
    expect(withPm.result.paymasterPostOpGasLimit).toBe('0x0')
    expect(ctx.estimator.last?.stateOverride).toBeUndefined()

    const badOverride = await call(ctx, 'eth_estimateUserOperationGas', [draft, EP8, { '0x12': {} }])
    expect(badOverride.error?.code).toBe(RpcCode.InvalidParams)
    expect(badOverride.error?.message).toContain('params[2]')
  })

  it('eth_getUserOperationByHash: pending, mined (pool memory) and unknown', async () => {
    const ctx = await start()
    const hash = (await call(ctx, 'eth_sendUserOperation', [wireOp(), EP7])).result
    const pending = await call(ctx, 'eth_getUserOperationByHash', [hash])
    expect(pending.result).toEqual({
      userOperation: wireOp(),
      entryPoint: EP7,
      blockNumber: null,
      blockHash: null,
      transactionHash: null,
    })

    const op = ctx.pool.ops.get(hash)!.op
    ctx.pool.mined.set(hash, minedInfo(hash, op))
    const mined = await call(ctx, 'eth_getUserOperationByHash', [hash.toUpperCase().replace('0X', '0x')])
    expect(mined.result.blockNumber).toBe('0x64')
    expect(mined.result.transactionHash).toBe(`0x${'cc'.repeat(32)}`)
    expect(mined.result.userOperation.nonce).toBe('0x1')

    expect((await call(ctx, 'eth_getUserOperationByHash', [`0x${'00'.repeat(32)}`])).result).toBeNull()
    expect((await call(ctx, 'eth_getUserOperationByHash', ['0x1234'])).error?.code).toBe(
      RpcCode.InvalidParams,
    )
  })

  it('eth_getUserOperationReceipt: null while pending, wire-format receipt once mined, null when unknown', async () => {
    const ctx = await start()
    const hash = (await call(ctx, 'eth_sendUserOperation', [wireOp(), EP7])).result
    expect((await call(ctx, 'eth_getUserOperationReceipt', [hash])).result).toBeNull()

    ctx.pool.mined.set(hash, minedInfo(hash, ctx.pool.ops.get(hash)!.op))
    const r = (await call(ctx, 'eth_getUserOperationReceipt', [hash])).result
    expect(r).toMatchObject({
      userOpHash: hash,
      entryPoint: EP7,
      sender: SENDER,
      nonce: '0x1',
      paymaster: zeroAddress,
      actualGasCost: '0x3e8',
      actualGasUsed: '0x64',
      success: true,
    })
    // viem-shaped values the pool may keep come out as the node's wire format
    expect(r.logs[0]).toMatchObject({ logIndex: '0x3', blockNumber: '0x64', removed: false })
    expect(r.receipt).toMatchObject({
      status: '0x1',
      type: '0x2',
      gasUsed: '0x5208',
      transactionIndex: '0x0',
    })

    expect((await call(ctx, 'eth_getUserOperationReceipt', [`0x${'00'.repeat(32)}`])).result).toBeNull()
  })
})

function minedInfo(hash: Hash, op: UserOperation): MinedOpInfo {
  return {
    hash,
    entryPoint: EP7,
    op,
    blockNumber: 100n,
    blockHash: `0x${'bb'.repeat(32)}`,
    transactionHash: `0x${'cc'.repeat(32)}`,
    success: true,
    actualGasCost: 1000n,
    actualGasUsed: 100n,
    paymaster: zeroAddress,
    nonce: op.nonce,
    sender: op.sender,
    logs: [{ address: SENDER, topics: [], data: '0x', logIndex: 3, blockNumber: 100n, removed: false }],
    receipt: { status: 'success', type: 'eip1559', gasUsed: 21000n, transactionIndex: 0, logs: [] },
  }
}

describe('RPC server: JSON-RPC protocol', () => {
  it('answers a batch in order, with per-entry errors, and skips notifications', async () => {
    const ctx = await start()
    const r = await post(
      ctx.server.url,
      JSON.stringify([
        { jsonrpc: '2.0', id: 1, method: 'eth_chainId' },
        { jsonrpc: '2.0', id: 'two', method: 'nope' },
        { jsonrpc: '2.0', method: 'eth_chainId' },
        5,
        { jsonrpc: '1.0', id: 3, method: 'eth_chainId' },
        { jsonrpc: '2.0', id: null, method: 'eth_supportedEntryPoints', params: 'x' },
      ]),
    )
    expect(r.status).toBe(200)
    expect(r.json).toHaveLength(5)
    expect(r.json[0]).toEqual({ jsonrpc: '2.0', id: 1, result: '0x7a69' })
    expect(r.json[1].error.code).toBe(RpcCode.MethodNotFound)
    expect(r.json[1].id).toBe('two')
    expect(r.json[2]).toMatchObject({ id: null, error: { code: RpcCode.InvalidRequest } })
    expect(r.json[3]).toMatchObject({ id: 3, error: { code: RpcCode.InvalidRequest } })
    expect(r.json[4]).toMatchObject({ id: null, error: { code: RpcCode.InvalidRequest } })
  })

  it('rejects an empty batch and one over the batch limit; a notification-only request gets 204', async () => {
    const ctx = await start({ maxBatchSize: 3 })
    const empty = await post(ctx.server.url, '[]')
    expect(empty.json).toMatchObject({ id: null, error: { code: RpcCode.InvalidRequest } })
    const req = { jsonrpc: '2.0', id: 1, method: 'eth_chainId' }
    const big = await post(ctx.server.url, JSON.stringify([req, req, req, req]))
    expect(big.json.error.code).toBe(RpcCode.InvalidRequest)
    expect(big.json.error.message).toContain('limit of 3')
    expect((await post(ctx.server.url, JSON.stringify([req, req, req]))).json).toHaveLength(3)
    const note = await post(ctx.server.url, '{"jsonrpc":"2.0","method":"eth_chainId"}')
    expect(note.status).toBe(204)
    expect(note.text).toBe('')
  })

  it('answers malformed JSON with -32700 and bad envelopes with -32600', async () => {
    const ctx = await start()
    for (const body of ['{', '', 'nul', '{"jsonrpc":"2.0",}', '\u0000']) {
      const r = await post(ctx.server.url, body)
      expect(r.status, body).toBe(200)
      expect(r.json).toEqual({
        jsonrpc: '2.0',
        id: null,
        error: { code: -32700, message: 'parse error: invalid JSON' },
      })
    }
    for (const body of [
      '1',
      '"x"',
      'null',
      '{"jsonrpc":"2.0","id":{},"method":"eth_chainId"}',
      '{"id":1,"method":"eth_chainId"}',
      '{"jsonrpc":"2.0","id":1,"method":7}',
    ]) {
      const r = await post(ctx.server.url, body)
      expect(r.json.error.code, body).toBe(RpcCode.InvalidRequest)
    }
  })

  it('answers an oversized body with a JSON-RPC error (413) and keeps serving', async () => {
    const ctx = await start({ maxBodyBytes: 1024 })
    const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: ['x'.repeat(4096)] })
    const r = await post(ctx.server.url, big)
    expect(r.status).toBe(413)
    expect(r.json).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: RpcCode.InvalidRequest } })
    expect(r.json.error.message).toContain('1024 bytes')
    expect((await call(ctx, 'eth_chainId')).result).toBe('0x7a69')
  })

  it('answers a declared body beyond the drain cap at once, as JSON', async () => {
    const ctx = await start({ maxBodyBytes: 1024 })
    const out = await rawHttp(
      ctx.server.url,
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 999999999\r\n\r\n{"jsonrpc"',
    )
    expect(out).toMatch(/^HTTP\/1\.1 413/)
    expect(JSON.parse(out.slice(out.indexOf('\r\n\r\n') + 4)).error.code).toBe(RpcCode.InvalidRequest)
  })

  it('answers wrong HTTP methods, unknown paths and unparseable HTTP with JSON errors', async () => {
    const ctx = await start()
    const get = await fetch(ctx.server.url)
    expect(get.status).toBe(405)
    expect((await get.json()).error.code).toBe(RpcCode.InvalidRequest)
    const missing = await fetch(`${ctx.server.url}/nope`, { method: 'POST', body: '{}' })
    expect(missing.status).toBe(404)
    expect((await missing.json()).error.code).toBe(RpcCode.InvalidRequest)
    const garbage = await rawHttp(ctx.server.url, 'BLAH\r\n\r\n')
    expect(garbage).toMatch(/^HTTP\/1\.1 400/)
    expect(JSON.parse(garbage.slice(garbage.indexOf('\r\n\r\n') + 4)).error.code).toBe(RpcCode.InvalidRequest)
  })
})

describe('RPC server: health and metrics', () => {
  it('/health is 200 when the node answers and the pool is current, 503 with a reason otherwise', async () => {
    const ctx = await start()
    const ok = await fetch(`${ctx.server.url}/health`)
    expect(ok.status).toBe(200)
    expect(await ok.json()).toEqual({ status: 'ok', blockNumber: '0x2a' })

    // A tracker a moment behind a new block is asked again: healthy once it catches up in time.
    ctx.pool.current = false
    const catchUp = setTimeout(() => (ctx.pool.current = true), 300)
    const caughtUp = await fetch(`${ctx.server.url}/health`)
    clearTimeout(catchUp)
    expect(caughtUp.status).toBe(200)

    ctx.pool.current = false
    const behind = await fetch(`${ctx.server.url}/health`)
    expect(behind.status).toBe(503)
    expect((await behind.json()).reason).toContain('pool is behind')

    ctx.pool.current = true
    ctx.node.up = false
    const down = await fetch(`${ctx.server.url}/health`)
    expect(down.status).toBe(503)
    expect(await down.json()).toEqual({ status: 'unavailable', reason: 'node unreachable' })
  })

  it('records request counts, latency and errors per code; /metrics is not served on the RPC port', async () => {
    const ctx = await start()
    await call(ctx, 'eth_chainId')
    await call(ctx, 'eth_chainId')
    await call(ctx, 'eth_sendUserOperation', [wireOp(), PAYMASTER])
    await post(ctx.server.url, '{')
    await call(ctx, 'some_random_method_1')
    const res = await fetch(`${ctx.server.url}/metrics`)
    expect(res.status).toBe(404)
    expect((await res.json()).error.code).toBe(RpcCode.InvalidRequest)
    // The metrics server (src/admin/) serves this registry on its own port.
    const text = await ctx.registry.metrics()
    expect(text).toContain('conveyor_rpc_requests_total{method="eth_chainId"} 2')
    expect(text).toContain('conveyor_rpc_errors_total{method="eth_sendUserOperation",code="-32602"} 1')
    expect(text).toContain('conveyor_rpc_errors_total{method="invalid",code="-32700"} 1')
    expect(text).toContain('conveyor_rpc_errors_total{method="unknown",code="-32601"} 1')
    expect(text).toContain('conveyor_rpc_request_duration_seconds_count{method="eth_chainId"} 2')
    expect(text).not.toContain('some_random_method_1')
  })
})

describe('RPC server: debug namespace and registration', () => {
  it('debug methods answer -32601 when debug is disabled', async () => {
    const ctx = await start({ enableDebug: false })
    for (const m of [
      'debug_bundler_clearState',
      'debug_bundler_dumpMempool',
      'debug_bundler_getStakeStatus',
    ]) {
      expect((await call(ctx, m, [])).error?.code).toBe(RpcCode.MethodNotFound)
    }
    expect(ctx.pool.calls).toEqual([])
    expect(ctx.server.methods().some((m) => m.startsWith('debug_'))).toBe(false)
  })

  it('serves the debug_bundler_* methods when enabled', async () => {
    const ctx = await start({ enableDebug: true })
    await call(ctx, 'eth_sendUserOperation', [wireOp(), EP7])
    expect((await call(ctx, 'debug_bundler_dumpMempool', [EP7])).result).toEqual([wireOp()])
    expect((await call(ctx, 'debug_bundler_dumpMempool', [EP8])).result).toEqual([])
    expect((await call(ctx, 'debug_bundler_clearMempool')).result).toBe('ok')
    expect(ctx.pool.ops.size).toBe(0)

    const entries = [{ address: SENDER, opsSeen: '0x5', opsIncluded: '0x2' }]
    expect((await call(ctx, 'debug_bundler_setReputation', [entries, EP7])).result).toBe('ok')
    expect(ctx.pool.reputation).toEqual([{ address: SENDER, opsSeen: 5, opsIncluded: 2 }])
    expect((await call(ctx, 'debug_bundler_dumpReputation', [EP7])).result).toEqual([
      { address: SENDER, opsSeen: '0x5', opsIncluded: '0x2' },
    ])
    expect((await call(ctx, 'debug_bundler_clearReputation')).result).toBe('ok')
    expect(ctx.pool.reputation).toEqual([])

    const stake = (await call(ctx, 'debug_bundler_getStakeStatus', [PAYMASTER, EP7])).result
    expect(stake).toEqual({
      stakeInfo: { addr: PAYMASTER, stake: '0xde0b6b3a7640000', unstakeDelaySec: '0x15180' },
      isStaked: true,
    })
    expect((await call(ctx, 'debug_bundler_clearState')).result).toBe('ok')
    expect(ctx.pool.calls).toContain('clearState')

    const bad = await call(ctx, 'debug_bundler_setReputation', [[{ address: 'x' }], EP7])
    expect(bad.error?.code).toBe(RpcCode.InvalidParams)
    expect((await call(ctx, 'debug_bundler_dumpMempool', [PAYMASTER])).error?.code).toBe(
      RpcCode.InvalidParams,
    )
  })

  it('registers extra methods later, gating debug ones, and refuses duplicates', async () => {
    const off = await start({ enableDebug: false })
    const on = await start({ enableDebug: true })
    for (const ctx of [off, on]) {
      ctx.server.register('debug_bundler_sendBundleNow', async () => 'sent', { debug: true })
      ctx.server.register('conveyor_ping', async () => 'pong')
    }
    expect((await call(off, 'debug_bundler_sendBundleNow')).error?.code).toBe(RpcCode.MethodNotFound)
    expect((await call(on, 'debug_bundler_sendBundleNow')).result).toBe('sent')
    expect((await call(off, 'conveyor_ping')).result).toBe('pong')
    expect(() => on.server.register('eth_chainId', async () => 1)).toThrow(/already registered/)
  })
})

describe('RPC server: close', () => {
  it('lets an in-flight request finish, then refuses connections', async () => {
    const ctx = await start()
    let release!: () => void
    const gate = new Promise<void>((r) => {
      release = r
    })
    ctx.server.register('test_slow', async () => {
      await gate
      return 'done'
    })
    const inflight = post(ctx.server.url, '{"jsonrpc":"2.0","id":1,"method":"test_slow"}')
    await new Promise((r) => setTimeout(r, 50))
    const closing = ctx.server.close()
    release()
    expect((await inflight).json.result).toBe('done')
    await closing
    await expect(fetch(ctx.server.url, { method: 'POST', body: '{}' })).rejects.toThrow()
  })
})
