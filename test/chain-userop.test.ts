import fc from 'fast-check'
import { type Address, getAddress, type Hex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { entryPointOfVersion } from '../src/chain/entrypoint/registry.js'
import { fromV06Struct, toV06Struct } from '../src/chain/entrypoint/v06-op.js'
import { ENTRY_POINT_VERSIONS, entryPointAbi } from '../src/chain/entrypoint.js'
import { packUserOp, type UserOperation, unpackUserOp, userOpHash } from '../src/chain/userop.js'
import { startTestChain, type TestChain } from './harness/chain.js'

const U128_MAX = (1n << 128n) - 1n
const SENDER = getAddress('0x1111111111111111111111111111111111111111')
const FACTORY = getAddress('0x91E60e0613810449d098b0b5Ec8b51A0FE8c8985')
const PAYMASTER = getAddress('0x2222222222222222222222222222222222222222')

const BARE: UserOperation = {
  sender: SENDER,
  nonce: 5n,
  callData: '0xb61d27f6',
  callGasLimit: 100_000n,
  verificationGasLimit: 200_000n,
  preVerificationGas: 50_000n,
  maxFeePerGas: 3_000_000_000n,
  maxPriorityFeePerGas: 1_000_000_000n,
  signature: '0xabcdef',
}
const FACTORY_FIELDS = { factory: FACTORY, factoryData: '0x5fbfb9cf0000' as Hex }
const PAYMASTER_FIELDS = {
  paymaster: PAYMASTER,
  paymasterVerificationGasLimit: 70_000n,
  paymasterPostOpGasLimit: 30_000n,
  paymasterData: '0x01020304' as Hex,
}
const SHAPES: Record<string, UserOperation> = {
  bare: BARE,
  'with factory': { ...BARE, ...FACTORY_FIELDS },
  'with paymaster': { ...BARE, ...PAYMASTER_FIELDS },
  'with factory and paymaster': { ...BARE, ...FACTORY_FIELDS, ...PAYMASTER_FIELDS },
  'factory without data, paymaster without data, empty callData, 2D nonce, max values': {
    ...BARE,
    nonce: (123n << 64n) | 9n,
    callData: '0x',
    factory: FACTORY,
    factoryData: '0x',
    paymaster: PAYMASTER,
    paymasterVerificationGasLimit: U128_MAX,
    paymasterPostOpGasLimit: 0n,
    paymasterData: '0x',
    callGasLimit: U128_MAX,
    maxFeePerGas: U128_MAX,
  },
}

describe('pack/unpack', () => {
  it.each(Object.entries(SHAPES))('round trips an op %s', (_name, op) => {
    const packed = packUserOp(op)
    expect(unpackUserOp(packed)).toEqual(op)
    expect(packUserOp(unpackUserOp(packed))).toEqual(packed)
  })

  it('packs into the on-chain layout', () => {
    const p = packUserOp({ ...BARE, ...FACTORY_FIELDS, ...PAYMASTER_FIELDS })
    expect(p.initCode.toLowerCase()).toBe(`${FACTORY.toLowerCase()}5fbfb9cf0000`)
    // verificationGasLimit high, callGasLimit low; maxPriorityFeePerGas high, maxFeePerGas low.
    expect(p.accountGasLimits).toBe(
      `0x${200_000n.toString(16).padStart(32, '0')}${100_000n.toString(16).padStart(32, '0')}`,
    )
    expect(p.gasFees).toBe(
      `0x${1_000_000_000n.toString(16).padStart(32, '0')}${3_000_000_000n.toString(16).padStart(32, '0')}`,
    )
    expect(p.paymasterAndData.toLowerCase()).toBe(
      `${PAYMASTER.toLowerCase()}${70_000n.toString(16).padStart(32, '0')}${30_000n.toString(16).padStart(32, '0')}01020304`,
    )
    expect(packUserOp(BARE).initCode).toBe('0x')
    expect(packUserOp(BARE).paymasterAndData).toBe('0x')
  })

  it('rejects gas values beyond uint128', () => {
    expect(() => packUserOp({ ...BARE, callGasLimit: U128_MAX + 1n })).toThrow(RangeError)
    expect(() => packUserOp({ ...BARE, maxFeePerGas: -1n })).toThrow(RangeError)
  })

  it('round trips arbitrary ops (property)', () => {
    const u128 = fc.bigInt({ min: 0n, max: U128_MAX })
    const bytes = (max: number) =>
      fc.uint8Array({ maxLength: max }).map((b) => `0x${Buffer.from(b).toString('hex')}` as Hex)
    const address = fc
      .uint8Array({ minLength: 20, maxLength: 20 })
      .map((b) => getAddress(`0x${Buffer.from(b).toString('hex')}`))
    const op = fc.record({
      sender: address,
      nonce: fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }),
      callData: bytes(200),
      callGasLimit: u128,
      verificationGasLimit: u128,
      preVerificationGas: fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }),
      maxFeePerGas: u128,
      maxPriorityFeePerGas: u128,
      signature: bytes(100),
    })
    const factory = fc.option(fc.record({ factory: address, factoryData: bytes(100) }), { nil: undefined })
    const paymaster = fc.option(
      fc.record({
        paymaster: address,
        paymasterVerificationGasLimit: u128,
        paymasterPostOpGasLimit: u128,
        paymasterData: bytes(100),
      }),
      { nil: undefined },
    )
    fc.assert(
      fc.property(op, factory, paymaster, (base, f, p) => {
        const full: UserOperation = { ...base, ...f, ...p }
        expect(unpackUserOp(packUserOp(full))).toEqual(full)
      }),
      { numRuns: 300 },
    )
  })
})

describe('v0.6 struct and v0.9 paymaster signature', () => {
  it.each(Object.entries(SHAPES))(
    'v0.6 round trips an op %s (no paymaster gas limits in v0.6)',
    (_name, op) => {
      const { paymasterVerificationGasLimit: _v, paymasterPostOpGasLimit: _p, ...v06 } = op
      const s = toV06Struct(op)
      expect(fromV06Struct(s)).toEqual(v06)
      expect(s.paymasterAndData).toBe(
        op.paymaster ? `${op.paymaster}${(op.paymasterData ?? '0x').slice(2)}` : '0x',
      )
    },
  )

  it('v0.9 packs paymasterSignature after paymasterData with its length and the magic, and unpacks it back', () => {
    const op: UserOperation = { ...BARE, ...PAYMASTER_FIELDS, paymasterSignature: '0xaabbcc' }
    const p = packUserOp(op)
    expect(p.paymasterAndData.endsWith('01020304aabbcc000322e325a297439656')).toBe(true)
    expect(unpackUserOp(p, { paymasterSignature: true })).toEqual(op)
    // v0.7/v0.8 know no such suffix: it stays in paymasterData.
    expect(unpackUserOp(p).paymasterData).toBe('0x01020304aabbcc000322e325a297439656')
  })
})

let chain: TestChain
beforeAll(async () => {
  chain = await startTestChain()
})
afterAll(async () => {
  await chain?.stop()
})

describe.each(ENTRY_POINT_VERSIONS)('userOpHash equals EntryPoint %s getUserOpHash', (version) => {
  it.each(Object.entries(SHAPES))('%s', async (_name, op) => {
    const entryPoint: Address = chain.deployment.entryPoints[version]
    const onChain = await chain.client.readContract({
      address: entryPoint,
      abi: entryPointAbi(version),
      functionName: 'getUserOpHash',
      args: [entryPointOfVersion(version).toAbi(op)],
    })
    expect(userOpHash(op, entryPoint, chain.chainId, version)).toBe(onChain)
    expect(entryPointOfVersion(version).hash(op, chain.chainId)).toBe(onChain)
  })

  it('ignores the signature and binds the chain id and the nonce', () => {
    const entryPoint = chain.deployment.entryPoints[version]
    const h = userOpHash(BARE, entryPoint, chain.chainId, version)
    expect(userOpHash({ ...BARE, signature: '0x99' }, entryPoint, chain.chainId, version)).toBe(h)
    expect(userOpHash(BARE, entryPoint, chain.chainId + 1, version)).not.toBe(h)
    expect(userOpHash({ ...BARE, nonce: 6n }, entryPoint, chain.chainId, version)).not.toBe(h)
  })
})

describe('v0.9 paymasterSignature and the hash', () => {
  const SIGNED: UserOperation = { ...BARE, ...PAYMASTER_FIELDS, paymasterSignature: `0x${'5a'.repeat(65)}` }

  it('equals getUserOpHash with a paymaster signature, which the hash leaves out', async () => {
    const ep = entryPointOfVersion('v0.9')
    const onChain = await chain.client.readContract({
      address: ep.address,
      abi: ep.abi,
      functionName: 'getUserOpHash',
      args: [ep.toAbi(SIGNED)],
    })
    expect(ep.hash(SIGNED, chain.chainId)).toBe(onChain)
    expect(ep.hash({ ...SIGNED, paymasterSignature: '0x1234' }, chain.chainId)).toBe(onChain)
    // Without any signature the magic is not appended: a different hash, as on chain.
    const { paymasterSignature: _s, ...unsigned } = SIGNED
    expect(ep.hash(unsigned, chain.chainId)).not.toBe(onChain)
  })
})
