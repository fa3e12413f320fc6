import fc from 'fast-check'
import { type Hash, type Hex, keccak256, recoverMessageAddress, stringToBytes } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import type { Signer } from '../src/builder/signer/types.js'
import {
  afterPrivateSend,
  type CircuitState,
  CLOSED,
  changedAccounts,
  classifyRelayError,
  createTransactionSender,
  FallbackTransactionSender,
  FlashbotsAuthSigner,
  route,
  SendError,
  SenderConfigError,
  senderProblems,
  type TransactionSender,
  type TransactionSenderSettings,
  toKnownAccounts,
  toTxStatus,
} from '../src/builder/submit/index.js'
import { relayFailure } from '../src/builder/submit/relay-errors.js'
import { RelayHttpError } from '../src/builder/submit/relay-http.js'
import { chainSpecFor } from '../src/chain/chain-spec.js'

const S = { maxConsecutiveUnavailable: 3, recoveryMillis: 1_000 }

describe('circuit', () => {
  it('trips after K consecutive unavailable sends, stays open for the recovery interval, then allows one trial', () => {
    let s: CircuitState = CLOSED
    s = afterPrivateSend(s, true, 0, S)
    s = afterPrivateSend(s, true, 0, S)
    expect(route(s, 0, S).path).toBe('private')
    s = afterPrivateSend(s, true, 10, S)
    expect(s).toEqual({ mode: 'fallback', until: 1_010 })
    expect(route(s, 1_009, S).path).toBe('fallback')
    const trial = route(s, 1_010, S)
    expect(trial).toEqual({ path: 'private', state: { mode: 'private', failures: 2 } })
    // A failed trial re-opens at once; a successful one closes.
    expect(afterPrivateSend(trial.state, true, 1_010, S).mode).toBe('fallback')
    expect(afterPrivateSend(trial.state, false, 1_010, S)).toEqual(CLOSED)
  })

  it('any answer from the relay (even a rejection) resets the count; K = 0 never trips', () => {
    let s: CircuitState = afterPrivateSend(CLOSED, true, 0, S)
    s = afterPrivateSend(s, false, 0, S)
    expect(s).toEqual(CLOSED)
    const off = { maxConsecutiveUnavailable: 0, recoveryMillis: 1_000 }
    for (let i = 0; i < 10; i++) s = afterPrivateSend(s, true, 0, off)
    expect(s).toEqual(CLOSED)
  })

  it('property: the fallback is used iff the last K private sends all failed unavailable and the interval is not over', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.record({ unavailable: fc.boolean(), dt: fc.integer({ min: 0, max: 600 }) }), {
          maxLength: 60,
        }),
        (k, events) => {
          const settings = { maxConsecutiveUnavailable: k, recoveryMillis: 1_000 }
          let s: CircuitState = CLOSED
          let now = 0
          let streak = 0 // consecutive unavailable private sends, counted independently
          let openedAt: number | undefined
          for (const e of events) {
            now += e.dt
            const r = route(s, now, settings)
            s = r.state
            const expectFallback = openedAt !== undefined && now < openedAt + 1_000
            expect(r.path === 'fallback').toBe(expectFallback)
            if (r.path === 'fallback') continue
            if (openedAt !== undefined) streak = k - 1 // trial after recovery
            openedAt = undefined
            streak = e.unavailable ? streak + 1 : 0
            s = afterPrivateSend(s, e.unavailable, now, settings)
            if (streak >= k) {
              openedAt = now
              streak = 0
            }
            expect(s.mode === 'fallback').toBe(openedAt !== undefined)
          }
        },
      ),
    )
  })
})

describe('flashbots status and signature', () => {
  it('maps the status API: FAILED and CANCELLED are dropped, UNKNOWN is not', () => {
    expect(toTxStatus({ status: 'PENDING' })).toBe('pending')
    expect(toTxStatus({ status: 'INCLUDED' })).toBe('included')
    expect(toTxStatus({ status: 'FAILED' })).toBe('dropped')
    expect(toTxStatus({ status: 'CANCELLED' })).toBe('dropped')
    expect(toTxStatus({ status: 'UNKNOWN' })).toBe('unknown')
    expect(toTxStatus({ status: 42 })).toBe('unknown')
    expect(toTxStatus('nonsense')).toBe('unknown')
  })

  it('X-Flashbots-Signature recovers to the reputation address for that exact body only', async () => {
    const key = generatePrivateKey()
    const auth = new FlashbotsAuthSigner(key)
    const body = '{"jsonrpc":"2.0","id":1,"method":"eth_sendPrivateTransaction","params":[]}'
    const header = await auth.header(body)
    const [address, signature] = header.split(':') as [string, Hex]
    expect(address).toBe(privateKeyToAccount(key).address)
    const recover = (b: string) => recoverMessageAddress({ message: keccak256(stringToBytes(b)), signature })
    expect(await recover(body)).toBe(address)
    expect(await recover(`${body} `)).not.toBe(address)
    expect(JSON.stringify(auth)).not.toContain(key.slice(2))
  })
})

describe('known accounts', () => {
  const A = '0x1111111111111111111111111111111111111111'
  const B = '0x2222222222222222222222222222222222222222'
  it('normalizes slots and values to 32-byte words', () => {
    expect(toKnownAccounts({ [A]: { '0x0': '0x1' } })).toEqual({
      [A]: { [`0x${'0'.repeat(64)}`]: `0x${'0'.repeat(63)}1` },
    })
  })
  it('reports the accounts with any changed slot', () => {
    const expected = { [A]: { '0x0': '0x1', '0x1': '0x2' }, [B]: { '0x5': '0x7' } } as const
    expect(
      changedAccounts(expected, { [A]: { '0x0': '0x01', '0x1': '0x2' }, [B]: { '0x5': '0x7' } }),
    ).toEqual([])
    expect(changedAccounts(expected, { [A]: { '0x0': '0x1', '0x1': '0x3' }, [B]: { '0x5': '0x7' } })).toEqual(
      [A],
    )
    expect(changedAccounts(expected, { [A]: { '0x0': '0x1', '0x1': '0x2' } })).toEqual([B])
  })
})

describe('relay errors', () => {
  it('maps relay answers to the state machine kinds', () => {
    expect(classifyRelayError(new RelayHttpError('error in signature check 0xabc', 403))).toBe('rejected')
    expect(classifyRelayError(new RelayHttpError('invalid flashbots signature', 200, -32025))).toBe(
      'rejected',
    )
    expect(classifyRelayError(new RelayHttpError('HTTP 503', 503))).toBe('unavailable')
    expect(classifyRelayError(new RelayHttpError('answer is not JSON', 200, undefined, true))).toBe(
      'unavailable',
    )
    expect(classifyRelayError(new RelayHttpError('nonce too low', 200, -32000))).toBe('nonce_too_low')
    expect(classifyRelayError(new RelayHttpError('replacement transaction underpriced', 200, -32000))).toBe(
      'replacement_underpriced',
    )
    expect(
      classifyRelayError(new RelayHttpError('insufficient funds for gas * price + value', 200, -32000)),
    ).toBe('insufficient_funds')
    expect(classifyRelayError(new RelayHttpError('transaction underpriced', 200, -32000))).toBe('underpriced')
    expect(classifyRelayError(new RelayHttpError('bundle reverted in simulation', 200, -32000))).toBe(
      'rejected',
    )
    const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError')
    expect(classifyRelayError(timeout)).toBe('unavailable')
    expect(classifyRelayError(new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } }))).toBe(
      'unavailable',
    )
  })

  it('never repeats a secret the relay echoed back', () => {
    const secret = 'c2VjcmV0LWhlYWRlci12YWx1ZQ=='
    const err = relayFailure(new RelayHttpError(`unauthorized header ${secret}`, 401), {
      relay: 'bloxroute relay',
      authOption: '--builder.bloxroute_auth_header',
      secrets: [secret],
    })
    expect(err.kind).toBe('rejected')
    expect(err.message).not.toContain(secret)
    expect(err.message).toContain('--builder.bloxroute_auth_header')
  })
})

describe('settings', () => {
  const base = (over: Partial<TransactionSenderSettings>): TransactionSenderSettings => ({
    kind: 'raw',
    useConditionalRpc: false,
    nodeUrl: 'http://127.0.0.1:1',
    chainId: 1,
    chainSpec: chainSpecFor(1),
    fallback: S,
    ...over,
  })
  it('Flashbots refuses chains other than mainnet and Sepolia, naming the chain and the option', async () => {
    const polygon = base({
      kind: 'flashbots',
      chainId: 137,
      chainSpec: chainSpecFor(137),
      flashbotsRelayAuthKey: generatePrivateKey(),
    })
    const err = await createTransactionSender(polygon).catch((e) => e)
    expect(err).toBeInstanceOf(SenderConfigError)
    expect(err.message).toContain('--builder.sender=flashbots')
    expect(err.message).toContain('chain 137 (polygon)')
    expect(senderProblems(base({ kind: 'flashbots', flashbotsRelayAuthKey: generatePrivateKey() }))).toEqual(
      [],
    )
    const sepolia = base({ kind: 'flashbots', chainId: 11155111, chainSpec: chainSpecFor(11155111) })
    expect(senderProblems(sepolia)).toEqual([
      '--builder.sender=flashbots needs --builder.flashbots_relay_auth_key',
    ])
  })
  it('bloXroute refuses chains other than Polygon; conditional only with raw', () => {
    const eth = base({ kind: 'polygon_bloxroute', bloxrouteAuthHeader: 'x'.repeat(20) })
    expect(senderProblems(eth)).toEqual([
      '--builder.sender=polygon_bloxroute serves Polygon only; chain 1 (ethereum) has no bloXroute private transactions',
    ])
    expect(senderProblems({ ...eth, chainId: 137, chainSpec: chainSpecFor(137) })).toEqual([])
    expect(
      senderProblems(
        base({
          kind: 'polygon_bloxroute',
          chainId: 137,
          chainSpec: chainSpecFor(137),
          useConditionalRpc: true,
        }),
      ),
    ).toEqual([
      '--builder.use_conditional_rpc works only with --builder.sender=raw, not polygon_bloxroute',
      '--builder.sender=polygon_bloxroute needs --builder.bloxroute_auth_header',
    ])
  })
})

describe('fallback wrapper (fakes)', () => {
  const signer = privateKeyToAccount(generatePrivateKey()) as unknown as Signer
  type Call = { via: string; op: 'send' | 'cancel' | 'status' }

  function fake(name: string, calls: Call[], behaviour: { down: boolean }): TransactionSender {
    return {
      name,
      async send(raw) {
        calls.push({ via: name, op: 'send' })
        if (behaviour.down) throw new SendError('unavailable', `${name} down`)
        return keccak256(raw)
      },
      async cancel() {
        calls.push({ via: name, op: 'cancel' })
        if (behaviour.down) throw new SendError('unavailable', `${name} down`)
        return name === 'private' ? { kind: 'soft' } : { kind: 'hard', hash: `0x${'cc'.repeat(32)}` as Hash }
      },
      ...(name === 'private'
        ? {
            async status() {
              calls.push({ via: name, op: 'status' })
              return 'pending' as const
            },
          }
        : {}),
    }
  }

  async function tx(nonce: number): Promise<Hex> {
    return (signer as unknown as ReturnType<typeof privateKeyToAccount>).signTransaction({
      type: 'eip1559',
      chainId: 1,
      nonce,
      to: signer.address,
      gas: 21_000n,
      maxFeePerGas: 2n,
      maxPriorityFeePerGas: 1n,
    })
  }

  it('a cancellation goes through the sender that sent the transaction, whatever the current path', async () => {
    const calls: Call[] = []
    const relay = { down: false }
    let now = 0
    const sender = new FallbackTransactionSender(
      fake('private', calls, relay),
      fake('raw', calls, { down: false }),
      {
        maxConsecutiveUnavailable: 1,
        recoveryMillis: 100,
        now: () => now,
      },
    )
    const privTx = await tx(5)
    const privHash = await sender.send(privTx)
    relay.down = true
    const pubTx = await tx(6)
    const pubHash = await sender.send(pubTx) // fails on the relay, resent through raw at once
    expect(calls.map((c) => `${c.via}:${c.op}`)).toEqual(['private:send', 'private:send', 'raw:send'])
    expect(sender.path).toBe('fallback')

    calls.length = 0
    const fees = { maxFeePerGas: 4n, maxPriorityFeePerGas: 2n }
    // Sent privately: the cancellation must go to the relay even now, and fails while it is down.
    await expect(sender.cancel({ nonce: 5n, fees, hash: privHash }, signer)).rejects.toThrow('private down')
    // By nonce when the hash is not given.
    expect(await sender.cancel({ nonce: 6n, fees }, signer)).toEqual({
      kind: 'hard',
      hash: `0x${'cc'.repeat(32)}`,
    })
    expect(await sender.cancel({ nonce: 6n, fees, hash: pubHash }, signer)).toMatchObject({ kind: 'hard' })
    expect(calls.map((c) => c.via)).toEqual(['private', 'raw', 'raw'])

    relay.down = false
    now = 100
    expect(await sender.cancel({ nonce: 5n, fees, hash: privHash }, signer)).toEqual({ kind: 'soft' })
    // Status: the relay knows its own transactions; raw-sent ones are the chain's to tell.
    expect(await sender.status(privHash)).toBe('pending')
    expect(await sender.status(pubHash)).toBe('unknown')
    expect(sender.path).toBe('private')
  })
})
