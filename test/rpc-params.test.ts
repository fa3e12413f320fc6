import { describe, expect, it } from 'vitest'
import {
  addressSchema,
  bytesSchema,
  hashSchema,
  parseParam,
  positional,
  quantitySchema,
  reputationEntriesSchema,
  stateOverrideSchema,
  uint128Schema,
  userOperationDraftSchema,
  userOperationSchema,
} from '../src/rpc/params.js'
import { RpcCode, RpcError } from '../src/util/errors.js'

const CHECKSUMMED = '0x0000000071727De22E5E9d8BAf0edAc6f37da032'
const SENDER = '0x1111111111111111111111111111111111111111'
const PAYMASTER = '0x2222222222222222222222222222222222222222'

/** The RpcError a parse throws, for asserting its code and message. */
function rejection(fn: () => unknown): RpcError {
  try {
    fn()
  } catch (err) {
    if (err instanceof RpcError) return err
    throw err
  }
  throw new Error('expected a rejection')
}

const wireOp = () => ({
  sender: SENDER,
  nonce: '0x1',
  callData: '0xabcd',
  callGasLimit: '0x5208',
  verificationGasLimit: '0x186a0',
  preVerificationGas: '0xc350',
  maxFeePerGas: '0x3b9aca00',
  maxPriorityFeePerGas: '0x1',
  signature: '0x' + '11'.repeat(65),
})

describe('address', () => {
  it('accepts lower, upper and correctly checksummed; returns checksummed', () => {
    expect(addressSchema.parse(CHECKSUMMED.toLowerCase())).toBe(CHECKSUMMED)
    expect(addressSchema.parse(`0x${CHECKSUMMED.slice(2).toUpperCase()}`)).toBe(CHECKSUMMED)
    expect(addressSchema.parse(CHECKSUMMED)).toBe(CHECKSUMMED)
  })
  it('rejects bad checksum, wrong length, no prefix, non-hex, non-string', () => {
    const badChecksum = CHECKSUMMED.replace('De22', 'de22')
    for (const v of [
      badChecksum,
      '0x1234',
      `${SENDER}00`,
      SENDER.slice(2),
      '0xZZ11111111111111111111111111111111111111',
      '0xzZ11111111111111111111111111111111111111',
      5,
      null,
    ])
      expect(addressSchema.safeParse(v).success, String(v)).toBe(false)
  })
})

describe('hash', () => {
  it('accepts 32 bytes, lower-cases', () => {
    expect(hashSchema.parse(`0x${'AB'.repeat(32)}`)).toBe(`0x${'ab'.repeat(32)}`)
  })
  it('rejects 31 and 33 bytes and non-hex', () => {
    for (const v of [`0x${'ab'.repeat(31)}`, `0x${'ab'.repeat(33)}`, `0x${'gg'.repeat(32)}`, 1])
      expect(hashSchema.safeParse(v).success).toBe(false)
  })
})

describe('bytes', () => {
  it('accepts empty and even-length hex', () => {
    expect(bytesSchema.parse('0x')).toBe('0x')
    expect(bytesSchema.parse('0xABcd')).toBe('0xabcd')
  })
  it('rejects odd length, missing prefix, non-hex', () => {
    for (const v of ['0xabc', 'abcd', '0xzz', '', 12, {}])
      expect(bytesSchema.safeParse(v).success).toBe(false)
  })
})

describe('quantity', () => {
  it('accepts canonical hex, leading zeros (padded nonces) and 256-bit values', () => {
    expect(quantitySchema.parse('0x0')).toBe(0n)
    expect(quantitySchema.parse('0x1a')).toBe(26n)
    expect(quantitySchema.parse('0x0001')).toBe(1n)
    expect(quantitySchema.parse(`0x${'f'.repeat(64)}`)).toBe((1n << 256n) - 1n)
  })
  it('rejects empty, decimal, numbers, > 256 bits, negative, non-hex', () => {
    for (const v of ['0x', '26', 26, `0x1${'0'.repeat(64)}`, '-0x1', '0xg', '0x 1', null, true])
      expect(quantitySchema.safeParse(v).success, String(v)).toBe(false)
  })
  it('uint128 stops at 2^128 - 1', () => {
    expect(uint128Schema.parse(`0x${'f'.repeat(32)}`)).toBe((1n << 128n) - 1n)
    expect(uint128Schema.safeParse(`0x1${'0'.repeat(32)}`).success).toBe(false)
  })
})

describe('user operation', () => {
  it('parses a plain op into bigints and a checksummed sender, without absent optional fields', () => {
    const op = userOperationSchema.parse(wireOp())
    expect(op).toEqual({
      sender: SENDER,
      nonce: 1n,
      callData: '0xabcd',
      callGasLimit: 21000n,
      verificationGasLimit: 100000n,
      preVerificationGas: 50000n,
      maxFeePerGas: 1000000000n,
      maxPriorityFeePerGas: 1n,
      signature: `0x${'11'.repeat(65)}`,
    })
    expect(Object.keys(op)).not.toContain('factory')
  })

  it('parses factory and paymaster parts', () => {
    const op = userOperationSchema.parse({
      ...wireOp(),
      factory: PAYMASTER,
      factoryData: '0x01',
      paymaster: PAYMASTER,
      paymasterVerificationGasLimit: '0x10',
      paymasterPostOpGasLimit: '0x20',
    })
    expect(op.factory).toBe(PAYMASTER)
    expect(op.factoryData).toBe('0x01')
    expect(op.paymasterVerificationGasLimit).toBe(16n)
    expect(op.paymasterPostOpGasLimit).toBe(32n)
    expect(op.paymasterData).toBeUndefined()
  })

  it('treats null optional fields as absent', () => {
    const op = userOperationSchema.parse({ ...wireOp(), factory: null, factoryData: null, paymaster: null })
    expect(op.factory).toBeUndefined()
    expect('paymaster' in op).toBe(false)
  })

  it.each([
    ['missing callData', { callData: undefined }, 'params[0].callData: missing'],
    ['bad hex nonce', { nonce: '0xq' }, 'params[0].nonce'],
    ['number gas', { callGasLimit: 21000 }, 'params[0].callGasLimit'],
    ['odd signature', { signature: '0x123' }, 'params[0].signature'],
    [
      'uint128 overflow',
      { maxFeePerGas: `0x1${'0'.repeat(32)}` },
      'params[0].maxFeePerGas: value exceeds uint128',
    ],
    ['unknown field', { eip7702Auth: {} }, 'params[0]: unknown field eip7702Auth'],
    ['v0.6 field', { initCode: '0x' }, 'params[0]: unknown field initCode'],
    ['paymaster without gas', { paymaster: PAYMASTER }, 'params[0].paymasterVerificationGasLimit: required'],
    [
      'factoryData without factory',
      { factoryData: '0x01' },
      'params[0].factoryData: factoryData given without',
    ],
    ['paymasterData without paymaster', { paymasterData: '0x01' }, 'params[0].paymasterData'],
    [
      'paymaster gas without paymaster',
      { paymasterPostOpGasLimit: '0x5' },
      'params[0].paymasterPostOpGasLimit',
    ],
  ])('rejects %s with -32602 naming the field', (_name, patch, message) => {
    const err = rejection(() => parseParam(userOperationSchema, { ...wireOp(), ...patch }, 0))
    expect(err.code).toBe(RpcCode.InvalidParams)
    expect(err.message).toContain(message)
  })

  it('rejects non-objects', () => {
    for (const v of [null, 'op', [], 7]) {
      const err = rejection(() => parseParam(userOperationSchema, v, 0))
      expect(err.code).toBe(RpcCode.InvalidParams)
    }
  })

  it('accepts empty sub-fields of an absent factory or paymaster and drops them', () => {
    const op = userOperationSchema.parse({ ...wireOp(), factoryData: '0x', paymasterData: '0x' })
    expect('factoryData' in op).toBe(false)
    expect('paymasterData' in op).toBe(false)
  })
})

describe('user operation draft (estimation)', () => {
  it('allows missing gas and fee fields, and paymaster gas fields', () => {
    const {
      callGasLimit,
      verificationGasLimit,
      preVerificationGas,
      maxFeePerGas,
      maxPriorityFeePerGas,
      ...rest
    } = wireOp()
    const op = userOperationDraftSchema.parse({ ...rest, paymaster: PAYMASTER, paymasterData: '0xaa' })
    expect(op.callGasLimit).toBeUndefined()
    expect(op.paymaster).toBe(PAYMASTER)
    expect(op.paymasterData).toBe('0xaa')
    expect(op.paymasterVerificationGasLimit).toBeUndefined()
  })
  it('still checks the fields that are present and requires the signature', () => {
    expect(userOperationDraftSchema.safeParse({ ...wireOp(), callGasLimit: 'x' }).success).toBe(false)
    const { signature, ...noSig } = wireOp()
    expect(userOperationDraftSchema.safeParse(noSig).success).toBe(false)
  })
})

describe('state override', () => {
  it('parses balance, nonce, code and state; checksums keys', () => {
    const slot = `0x${'01'.repeat(32)}`
    const out = stateOverrideSchema.parse({
      [CHECKSUMMED.toLowerCase()]: { balance: '0x0010', nonce: '0x2', code: '0x60', state: { [slot]: slot } },
    })
    expect(out).toEqual({
      [CHECKSUMMED]: { balance: '0x10', nonce: '0x2', code: '0x60', state: { [slot]: slot } },
    })
  })
  it('rejects bad keys, unknown fields, bad slots, state with stateDiff', () => {
    const slot = `0x${'01'.repeat(32)}`
    for (const v of [
      { '0x12': {} },
      { [SENDER]: { foo: 1 } },
      { [SENDER]: { state: { '0x01': slot } } },
      { [SENDER]: { state: { [slot]: '0x01' } } },
      { [SENDER]: { state: {}, stateDiff: {} } },
      [],
      'x',
    ])
      expect(stateOverrideSchema.safeParse(v).success, JSON.stringify(v)).toBe(false)
  })
})

describe('reputation entries', () => {
  it('accepts hex and integer counters and an optional status', () => {
    expect(
      reputationEntriesSchema.parse([
        { address: SENDER, opsSeen: '0xa', opsIncluded: 2 },
        { address: PAYMASTER, opsSeen: 0, opsIncluded: '0x0', status: 'banned' },
      ]),
    ).toEqual([
      { address: SENDER, opsSeen: 10, opsIncluded: 2 },
      { address: PAYMASTER, opsSeen: 0, opsIncluded: 0, status: 'banned' },
    ])
  })
  it('rejects negative, fractional, huge counters, unknown status and fields', () => {
    for (const e of [
      { address: SENDER, opsSeen: -1, opsIncluded: 0 },
      { address: SENDER, opsSeen: 1.5, opsIncluded: 0 },
      { address: SENDER, opsSeen: `0x${'f'.repeat(20)}`, opsIncluded: 0 },
      { address: SENDER, opsSeen: 1, opsIncluded: 0, status: 'meh' },
      { address: SENDER, opsSeen: 1, opsIncluded: 0, extra: 1 },
      { opsSeen: 1, opsIncluded: 0 },
    ])
      expect(reputationEntriesSchema.safeParse([e]).success, JSON.stringify(e)).toBe(false)
  })
})

describe('positional', () => {
  it('accepts omitted params as empty and checks the count', () => {
    expect(positional(undefined, 0, 0)).toEqual([])
    expect(positional([1], 1, 2)).toEqual([1])
    expect(rejection(() => positional([], 1, 1)).message).toContain('expected 1 params, got 0')
    expect(rejection(() => positional([1, 2, 3], 1, 2)).message).toContain('at most 2')
    expect(rejection(() => positional({ a: 1 }, 0, 1)).code).toBe(RpcCode.InvalidParams)
  })
})
