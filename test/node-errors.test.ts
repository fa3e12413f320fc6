import {
  createPublicClient,
  type Hex,
  HttpRequestError,
  http,
  parseGwei,
  RpcRequestError,
  TimeoutError,
  TransactionRejectedRpcError,
} from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SendErrorKind } from '../src/builder/submit/outcome.js'
import { classifySendError } from '../src/chain/node-errors.js'
import { type AnvilNode, startAnvil } from '../src/dev/anvil.js'
import { type FaultProxy, startFaultProxy } from './support/fault-proxy.js'

// Every spelling from the reference table (geth/reth/erigon/others, anvil, hardhat), as nodes say them.
const SPELLINGS: [string, SendErrorKind][] = [
  ['replacement transaction underpriced', 'replacement_underpriced'],
  ['could not replace existing tx', 'replacement_underpriced'],
  ['an existing transaction had higher priority', 'replacement_underpriced'],
  [
    'Replacement transaction underpriced. A gasPrice/maxFeePerGas of at least 1100000000 is necessary to replace the existing transaction with nonce 0.',
    'replacement_underpriced',
  ],
  ['nonce too low', 'nonce_too_low'],
  ['nonce too low: next nonce 5, tx nonce 3', 'nonce_too_low'],
  ['invalid nonce; got 3, expected 5', 'nonce_too_low'],
  [
    "Nonce too low. Expected nonce to be 5 but got 3. Note that transactions can't be queued",
    'nonce_too_low',
  ],
  ['transaction underpriced', 'underpriced'],
  ['transaction underpriced: tip needed 1, tip permitted 0', 'underpriced'],
  ['txpool is full', 'underpriced'],
  ['max fee per gas less than block base fee', 'underpriced'],
  [
    'Transaction maxFeePerGas (1) is too low for the next block, which has a baseFeePerGas of 875000000',
    'underpriced',
  ],
  ['already known', 'already_known'],
  ['known transaction: 0xabc', 'already_known'],
  ['transaction already imported', 'already_known'],
  ['Known transaction: 0x1234abcd', 'already_known'],
  ['insufficient funds for gas * price + value', 'insufficient_funds'],
  ['Insufficient funds for gas * price + value', 'insufficient_funds'],
  [
    "Sender doesn't have enough funds to send tx. The max upfront cost is: 1 and the sender's account only has: 0",
    'insufficient_funds',
  ],
  ['intrinsic gas too low', 'intrinsic_gas_too_low'],
  ['Transaction requires at least 21000 gas but got 20000', 'intrinsic_gas_too_low'],
  ['condition not met', 'condition_not_met'],
  // Near misses that must not be mistaken for a specific kind.
  ['unknown transaction type', 'rejected'],
  ['execution reverted', 'rejected'],
]

describe('classifySendError: spellings', () => {
  it.each(SPELLINGS)('%s -> %s (as a raw JSON-RPC error object)', (message, kind) => {
    expect(classifySendError({ code: -32000, message })).toBe(kind)
  })

  it.each(SPELLINGS)('%s -> %s (in any case, inside a JSON-RPC response)', (message, kind) => {
    expect(
      classifySendError({ jsonrpc: '2.0', id: 1, error: { code: -32000, message: message.toUpperCase() } }),
    ).toBe(kind)
  })

  it.each(SPELLINGS)('%s -> %s (wrapped by viem, as a plain string, as an Error cause)', (message, kind) => {
    const rpc = new RpcRequestError({ body: {}, url: 'http://127.0.0.1:1', error: { code: -32000, message } })
    expect(classifySendError(new TransactionRejectedRpcError(rpc))).toBe(kind)
    expect(classifySendError(message)).toBe(kind)
    expect(classifySendError(new Error('send failed', { cause: new Error(message) }))).toBe(kind)
  })

  it('anvil code -32003 with a replacement message is replacement underpriced, even on the conditional method', () => {
    const err = { code: -32003, message: 'replacement transaction underpriced' }
    expect(classifySendError(err)).toBe('replacement_underpriced')
    expect(classifySendError(err, { conditional: true })).toBe('replacement_underpriced')
  })

  it('codes -32003/-32005 mean condition not met only on the conditional method', () => {
    expect(classifySendError({ code: -32003, message: 'out of bounds' }, { conditional: true })).toBe(
      'condition_not_met',
    )
    expect(classifySendError({ code: -32005, message: 'storage mismatch' }, { conditional: true })).toBe(
      'condition_not_met',
    )
    expect(classifySendError({ code: -32003, message: 'out of bounds' })).toBe('rejected')
    // Ordinary methods: -32005 is "limit exceeded", i.e. rate limiting.
    expect(classifySendError({ code: -32005, message: 'request rate exceeded' })).toBe('unavailable')
  })

  it('transport failures are unavailable', () => {
    const refused = Object.assign(new TypeError('fetch failed'), {
      cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
    })
    expect(classifySendError(refused)).toBe('unavailable')
    expect(classifySendError(new HttpRequestError({ url: 'http://x', status: 502, body: {} }))).toBe(
      'unavailable',
    )
    expect(classifySendError(new HttpRequestError({ url: 'http://x', status: 429 }))).toBe('unavailable')
    expect(classifySendError(new HttpRequestError({ url: 'http://x', cause: refused }))).toBe('unavailable')
    expect(classifySendError(new TimeoutError({ body: {}, url: 'http://x' }))).toBe('unavailable')
    expect(classifySendError(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe('unavailable')
    expect(classifySendError(new Error('socket hang up'))).toBe('unavailable')
    // An HTTP 400 is the endpoint refusing the request, not being unavailable.
    expect(classifySendError(new HttpRequestError({ url: 'http://x', status: 400, body: {} }))).toBe(
      'rejected',
    )
  })

  it('a node verdict wins over transport-sounding wrappers', () => {
    const err = new HttpRequestError({ url: 'http://x', status: 500, details: 'nonce too low' })
    expect(classifySendError(err)).toBe('nonce_too_low')
  })

  it('anything else is rejected, including non-errors', () => {
    expect(classifySendError(undefined)).toBe('rejected')
    expect(classifySendError(null)).toBe('rejected')
    expect(classifySendError(42)).toBe('rejected')
    expect(classifySendError({})).toBe('rejected')
  })

  it('survives cyclic causes', () => {
    const a: { message: string; cause?: unknown } = { message: 'weird' }
    a.cause = { message: 'weirder', cause: a }
    expect(classifySendError(a)).toBe('rejected')
  })
})

const DEV_KEY: Hex = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80'

describe('classifySendError: real anvil errors through viem', () => {
  let node: AnvilNode
  let proxy: FaultProxy
  const account = privateKeyToAccount(DEV_KEY)

  beforeAll(async () => {
    node = await startAnvil({ noMining: true })
    proxy = await startFaultProxy(node.url)
  })
  afterAll(async () => {
    await proxy?.close()
    await node?.stop()
  })

  const client = () => createPublicClient({ transport: http(node.url, { retryCount: 0 }) })
  const sign = async (over: {
    nonce: number
    value?: bigint
    gas?: bigint
    maxFeePerGas?: bigint
    maxPriorityFeePerGas?: bigint
  }) =>
    account.signTransaction({
      chainId: node.chainId,
      type: 'eip1559',
      to: account.address,
      value: over.value ?? 0n,
      gas: over.gas ?? 21_000n,
      maxFeePerGas: over.maxFeePerGas ?? parseGwei('20'),
      maxPriorityFeePerGas: over.maxPriorityFeePerGas ?? parseGwei('1'),
      nonce: over.nonce,
    })
  const send = (raw: Hex, url = node.url) =>
    createPublicClient({ transport: http(url, { retryCount: 0, timeout: 1_000 }) }).request({
      method: 'eth_sendRawTransaction',
      params: [raw],
    })
  const kindOf = async (p: Promise<unknown>): Promise<SendErrorKind | 'sent'> =>
    p.then(
      () => 'sent' as const,
      (e: unknown) => classifySendError(e),
    )

  it('already known, replacement underpriced, nonce too low, fee below base fee, intrinsic gas, funds', async () => {
    const first = await sign({ nonce: 0 })
    expect(await kindOf(send(first))).toBe('sent')
    // Automine is off, so the transaction waits in the pool.
    expect(await kindOf(send(first))).toBe('already_known')
    expect(await kindOf(send(await sign({ nonce: 0, value: 1n })))).toBe('replacement_underpriced')

    await client().request({ method: 'evm_mine' } as never)
    expect(await kindOf(send(first))).toBe('nonce_too_low')

    expect(await kindOf(send(await sign({ nonce: 1, maxFeePerGas: 1n, maxPriorityFeePerGas: 1n })))).toBe(
      'underpriced',
    )
    expect(await kindOf(send(await sign({ nonce: 1, gas: 20_000n })))).toBe('intrinsic_gas_too_low')

    const poor = privateKeyToAccount(generatePrivateKey())
    const broke = await poor.signTransaction({
      chainId: node.chainId,
      type: 'eip1559',
      to: account.address,
      value: 1n,
      gas: 21_000n,
      maxFeePerGas: parseGwei('20'),
      maxPriorityFeePerGas: 1n,
      nonce: 0,
    })
    expect(await kindOf(send(broke))).toBe('insufficient_funds')
  })

  it('a refused, failing, garbled or silent endpoint is unavailable', async () => {
    const raw = await sign({ nonce: 5 })
    try {
      for (const mode of ['refuse', 'http500', 'garbage', 'reset', 'hang'] as const) {
        await proxy.setMode(mode)
        expect({ mode, kind: await kindOf(send(raw, proxy.url)) }).toEqual({ mode, kind: 'unavailable' })
      }
    } finally {
      await proxy.setMode('pass')
    }
    // Through the healthy proxy the node's own verdict comes back.
    expect(await kindOf(send(await sign({ nonce: 0 }), proxy.url))).toBe('nonce_too_low')
  })
})
