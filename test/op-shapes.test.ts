import type { Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import { entryPointOfVersion } from '../src/chain/entrypoint/registry.js'
import { opCodec } from '../src/rpc/op-shapes.js'
import { RpcCode, type RpcError } from '../src/util/errors.js'

const SENDER = '0x1111111111111111111111111111111111111111'
const FACTORY = '0x9406Cc6185a346906296840746125a0E44976454'
const PAYMASTER = '0x2222222222222222222222222222222222222222'

const V06_WIRE: Record<string, Hex> = {
  sender: SENDER,
  nonce: '0x1',
  initCode: `${FACTORY}abcd`,
  callData: '0x12',
  callGasLimit: '0x10',
  verificationGasLimit: '0x20',
  preVerificationGas: '0x30',
  maxFeePerGas: '0x40',
  maxPriorityFeePerGas: '0x5',
  paymasterAndData: `${PAYMASTER}beef`,
  signature: '0x99',
}

const V07_WIRE: Record<string, Hex> = {
  sender: SENDER,
  nonce: '0x1',
  factory: FACTORY,
  factoryData: '0xabcd',
  callData: '0x12',
  callGasLimit: '0x10',
  verificationGasLimit: '0x20',
  preVerificationGas: '0x30',
  maxFeePerGas: '0x40',
  maxPriorityFeePerGas: '0x5',
  paymaster: PAYMASTER,
  paymasterVerificationGasLimit: '0x7',
  paymasterPostOpGasLimit: '0x8',
  paymasterData: '0xbeef',
  signature: '0x99',
}

function refusal(f: () => unknown): RpcError {
  try {
    f()
  } catch (e) {
    return e as RpcError
  }
  throw new Error('accepted')
}

const v06 = opCodec(entryPointOfVersion('v0.6'))
const v07 = opCodec(entryPointOfVersion('v0.7'))
const v09 = opCodec(entryPointOfVersion('v0.9'))

describe('op wire shapes per EntryPoint version', () => {
  it('v0.6: initCode and paymasterAndData split after their addresses, and back byte for byte', () => {
    const op = v06.parseOp(V06_WIRE, 0)
    expect(op).toMatchObject({
      factory: FACTORY,
      factoryData: '0xabcd',
      paymaster: PAYMASTER,
      paymasterData: '0xbeef',
    })
    expect(op.paymasterVerificationGasLimit).toBeUndefined()
    expect(v06.encode(op)).toEqual({
      ...V06_WIRE,
      initCode: V06_WIRE.initCode!.toLowerCase(),
      paymasterAndData: V06_WIRE.paymasterAndData!.toLowerCase(),
    })
    expect(v06.encode(v06.parseOp({ ...V06_WIRE, initCode: '0x', paymasterAndData: '0x' }, 0))).toMatchObject(
      {
        initCode: '0x',
        paymasterAndData: '0x',
      },
    )
  })

  it('v0.6: a too-short initCode or paymasterAndData is -32602 naming it', () => {
    const short = refusal(() => v06.parseOp({ ...V06_WIRE, initCode: '0x1234' }, 0))
    expect(short.code).toBe(RpcCode.InvalidParams)
    expect(short.message).toMatch(/^params\[0\]\.initCode: /)
    expect(refusal(() => v06.parseOp({ ...V06_WIRE, paymasterAndData: '0x12' }, 0)).message).toMatch(
      /^params\[0\]\.paymasterAndData: /,
    )
  })

  it("refuses another version's fields with -32602 naming the field and what to use", () => {
    const toV06 = refusal(() => v06.parseOp(V07_WIRE, 0))
    expect(toV06.code).toBe(RpcCode.InvalidParams)
    expect(toV06.message).toMatch(
      /^params\[0\]\.factory: not a field of EntryPoint v0\.6 user operations; use initCode/,
    )
    const toV07 = refusal(() => v07.parseOp(V06_WIRE, 0))
    expect(toV07.message).toMatch(
      /^params\[0\]\.initCode: not a field of EntryPoint v0\.7 user operations; use factory/,
    )
    expect(toV07.data).toEqual({ field: 'initCode' })
    expect(refusal(() => v07.parseOp({ ...V07_WIRE, paymasterSignature: '0x12' }, 0)).message).toMatch(
      /^params\[0\]\.paymasterSignature: /,
    )
    expect(refusal(() => v06.parseDraft(V07_WIRE, 0)).message).toMatch(/^params\[0\]\.factory: /)
  })

  it('v0.9: paymasterSignature round trips; empty or without a paymaster is refused', () => {
    const op = v09.parseOp({ ...V07_WIRE, paymasterSignature: '0xaabb' }, 0)
    expect(op.paymasterSignature).toBe('0xaabb')
    expect(v09.encode(op)).toMatchObject({ paymasterSignature: '0xaabb', paymasterData: '0xbeef' })
    expect(refusal(() => v09.parseOp({ ...V07_WIRE, paymasterSignature: '0x' }, 0)).message).toMatch(
      /paymasterSignature: must not be empty/,
    )
    const {
      paymaster: _p,
      paymasterVerificationGasLimit: _v,
      paymasterPostOpGasLimit: _o,
      paymasterData: _d,
      ...bare
    } = V07_WIRE
    expect(refusal(() => v09.parseOp({ ...bare, paymasterSignature: '0xaa' }, 0)).message).toMatch(
      /paymasterSignature given without paymaster/,
    )
  })

  it('drafts leave the gas fields out in every shape', () => {
    const { callGasLimit: _c, verificationGasLimit: _v, preVerificationGas: _p, ...v06Draft } = V06_WIRE
    const d6 = v06.parseDraft(v06Draft, 0)
    expect(d6.callGasLimit).toBeUndefined()
    expect(d6.factory).toBe(FACTORY)
    const { callGasLimit: _c7, ...v07Draft } = V07_WIRE
    expect(v09.parseDraft(v07Draft, 0).callGasLimit).toBeUndefined()
  })
})
