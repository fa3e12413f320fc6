import fc from 'fast-check'
import { type Address, encodeErrorResult, type Hex, parseAbi } from 'viem'
import { describe, expect, it } from 'vitest'
import { chainSpecFor } from '../src/chain/chain-spec.js'
import { ENTRY_POINTS, entryPointArtifact } from '../src/chain/entrypoint.js'
import { requiredPreVerificationGas } from '../src/chain/gas.js'
import type { UserOperation } from '../src/chain/userop.js'
import { allOnes, estimatePreVerificationGas } from '../src/sim/pvg.js'
import { checkValidationOutcome, rejectionForRevert } from '../src/sim/reject.js'
import { searchLeastPassing } from '../src/sim/search.js'
import { withSimulationCode } from '../src/sim/sim-call.js'
import type { ValidationResult } from '../src/sim/types.js'
import { intersectTimeRanges, parseValidationData } from '../src/sim/validation-data.js'
import { RpcCode } from '../src/util/errors.js'
import { admittedValidation, unstaked } from './support/fake-validation.js'

const spec = chainSpecFor(31337)
const errors = parseAbi([
  'error FailedOp(uint256 opIndex, string reason)',
  'error FailedOpWithRevert(uint256 opIndex, string reason, bytes inner)',
  'error SignatureValidationFailed(address aggregator)',
])
const failedOp = (reason: string) =>
  encodeErrorResult({ abi: errors, errorName: 'FailedOp', args: [0n, reason] })

describe('validationData', () => {
  it('splits aggregator, validUntil, validAfter', () => {
    const agg = 0x1234n
    const data = agg | (1000n << 160n) | (500n << 208n)
    expect(parseValidationData(data)).toEqual({
      aggregator: '0x0000000000000000000000000000000000001234',
      sigFailed: false,
      clock: 'timestamp',
      validUntil: 1000n,
      validAfter: 500n,
    })
    expect(parseValidationData(1n).sigFailed).toBe(true)
    expect(parseValidationData(((1n << 48n) - 1n) << 208n).validAfter).toBe((1n << 48n) - 1n)
  })

  it('intersects ranges with 0 meaning no expiry', () => {
    expect(
      intersectTimeRanges({ validAfter: 5n, validUntil: 0n }, { validAfter: 7n, validUntil: 100n }),
    ).toEqual({
      validAfter: 7n,
      validUntil: 100n,
    })
    expect(
      intersectTimeRanges({ validAfter: 0n, validUntil: 50n }, { validAfter: 0n, validUntil: 100n }),
    ).toEqual({
      validAfter: 0n,
      validUntil: 50n,
    })
    expect(
      intersectTimeRanges({ validAfter: 0n, validUntil: 0n }, { validAfter: 0n, validUntil: 0n }).validUntil,
    ).toBe(0n)
  })
})

describe('rejection mapping', () => {
  it.each([
    ["AA21 didn't pay prefund", RpcCode.PaymasterDepositTooLow],
    ['AA31 paymaster deposit too low', RpcCode.PaymasterDepositTooLow],
    ['AA24 signature error', RpcCode.InvalidSignature],
    ['AA34 signature error', RpcCode.InvalidSignature],
    ['AA22 expired or not due', RpcCode.ShortDeadline],
    ['AA33 reverted', RpcCode.RejectedByPaymaster],
    ['AA36 over paymasterVerificationGasLimit', RpcCode.RejectedByPaymaster],
    ['AA13 initCode failed or OOG', RpcCode.RejectedByEpOrAccount],
    ['AA25 invalid account nonce', RpcCode.RejectedByEpOrAccount],
  ])('%s → %i', (reason, code) => {
    const err = rejectionForRevert(failedOp(reason))
    expect(err.code).toBe(code)
    expect(err.message).toContain(reason)
  })

  it('FailedOpWithRevert carries the inner reason; SignatureValidationFailed is -32507; empty is -32500', () => {
    const inner = encodeErrorResult({
      abi: parseAbi(['error Error(string)']),
      errorName: 'Error',
      args: ['nope'],
    })
    const e = rejectionForRevert(
      encodeErrorResult({ abi: errors, errorName: 'FailedOpWithRevert', args: [0n, 'AA23 reverted', inner] }),
    )
    expect(e.code).toBe(RpcCode.RejectedByEpOrAccount)
    expect(e.message).toMatch(/AA23 reverted: nope/)
    const sig = encodeErrorResult({
      abi: errors,
      errorName: 'SignatureValidationFailed',
      args: ['0x0000000000000000000000000000000000000009'],
    })
    expect(rejectionForRevert(sig).code).toBe(RpcCode.InvalidSignature)
    expect(rejectionForRevert('0x').code).toBe(RpcCode.RejectedByEpOrAccount)
  })

  const result = (over: Partial<ValidationResult>): ValidationResult =>
    admittedValidation(unstaked('0x1111111111111111111111111111111111111111'), over)
  const s = { validUntilMarginSec: 30n, supportedAggregators: [] as string[] }

  it('time range edges: exactly now+30 passes, now+29 fails, validAfter == now passes', () => {
    const now = 1_000n
    expect(() => checkValidationOutcome(result({ validUntil: now + 30n }), now, s)).not.toThrow()
    expect(() => checkValidationOutcome(result({ validUntil: now + 29n }), now, s)).toThrow(/within 30 s/)
    expect(() => checkValidationOutcome(result({ validAfter: now }), now, s)).not.toThrow()
    expect(() => checkValidationOutcome(result({ validAfter: now + 1n }), now, s)).toThrow(/not valid until/)
  })

  it('an aggregator is -32506 unless supported, -32505 unless staked', () => {
    const agg: Address = '0x00000000000000000000000000000000000000aa'
    const r = result({ aggregator: { address: agg, stake: { ...result({}).sender, address: agg } } })
    try {
      checkValidationOutcome(r, 0n, s)
      throw new Error('accepted')
    } catch (e) {
      expect((e as { code: number }).code).toBe(RpcCode.UnsupportedAggregator)
    }
    expect(() =>
      checkValidationOutcome(r, 0n, {
        ...s,
        supportedAggregators: ['0x00000000000000000000000000000000000000bb'],
      }),
    ).toThrow(/not supported/)
    const unstaked = () => checkValidationOutcome(r, 0n, { ...s, supportedAggregators: [agg] })
    expect(unstaked).toThrow(/aggregator 0x0+aa is not staked/)
    try {
      unstaked()
    } catch (e) {
      expect((e as { code: number }).code).toBe(RpcCode.StakeTooLow)
    }
    const staked = {
      ...r,
      aggregator: { address: agg, stake: { ...r.sender, address: agg, isStaked: true } },
    }
    expect(() => checkValidationOutcome(staked, 0n, { ...s, supportedAggregators: [agg] })).not.toThrow()
  })
})

describe('searchLeastPassing', () => {
  it('finds the threshold within tolerance, returning a passing value', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.bigInt({ min: 1n, max: 10_000_000n }),
        fc.bigInt({ min: 1n, max: 5000n }),
        async (t, tol) => {
          const { value } = await searchLeastPassing(0n, 10_000_000n, tol, async (v) => v >= t)
          expect(value >= t).toBe(true)
          expect(value - t <= tol).toBe(true)
        },
      ),
    )
  })
})

describe('worst-case preVerificationGas', () => {
  const op: UserOperation = {
    sender: '0x1111111111111111111111111111111111111111',
    nonce: 0n,
    callData: '0xb61d27f6',
    callGasLimit: 50_000n,
    verificationGasLimit: 100_000n,
    preVerificationGas: 0n,
    maxFeePerGas: 0n,
    maxPriorityFeePerGas: 0n,
    signature: '0x',
  }
  it('allOnes is the widest value of the same byte length', () => {
    expect(allOnes(0n, 3)).toBe(0xffffffn)
    expect(allOnes(0x1000000n, 3)).toBe(0xffffffffn)
    expect(allOnes(5n, 8)).toBe((1n << 64n) - 1n)
  })

  it('covers the op once signed, its fees and a pvg set to the estimate (any bytes)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 65, maxLength: 65 }),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.bigInt({ min: 0n, max: 0xffffffn }),
        (sig, fee, gas) => {
          const pvg = estimatePreVerificationGas(
            { ...op, callGasLimit: gas, verificationGasLimit: gas },
            spec,
          )
          const real: UserOperation = {
            ...op,
            callGasLimit: gas,
            verificationGasLimit: gas,
            signature: `0x${Buffer.from(sig).toString('hex')}` as Hex,
            maxFeePerGas: fee,
            maxPriorityFeePerGas: fee,
            preVerificationGas: pvg,
          }
          expect(pvg >= requiredPreVerificationGas(real, spec)).toBe(true)
        },
      ),
    )
  })

  it('is not far above the exact figure (tens of gas per field, not thousands)', () => {
    const pvg = estimatePreVerificationGas(op, spec)
    const exact = requiredPreVerificationGas(
      { ...op, signature: `0x${'11'.repeat(65)}`, preVerificationGas: pvg },
      spec,
    )
    expect(pvg - exact).toBeLessThan(400n)
    expect(pvg).toBeGreaterThanOrEqual(exact)
  })
})

describe('simulation override', () => {
  it('puts EntryPointSimulations at the EntryPoint and keeps the caller state for it', () => {
    const ep = ENTRY_POINTS['v0.8'].address
    const out = withSimulationCode('v0.8', ep, {
      [ep.toLowerCase() as Address]: { balance: '0x1', code: '0x00' },
      '0x2222222222222222222222222222222222222222': { code: '0x01' },
    })
    expect(Object.keys(out)).toHaveLength(2)
    expect(out[ep]?.code).toBe(entryPointArtifact('v0.8', 'EntryPointSimulations').deployedBytecode)
    expect(out[ep]?.balance).toBe('0x1')
  })
})
