import { type Address, encodeAbiParameters, type Hex, hexToBigInt, keccak256, numberToHex, pad } from 'viem'
import { describe, expect, it } from 'vitest'
import type { UserOperation } from '../src/chain/userop.js'
import { associationBases, isAssociated } from '../src/sim/rules/associated.js'
import { bundleStorageConflicts } from '../src/sim/rules/bundle.js'
import { Erc7562RuleChecker } from '../src/sim/rules/checker.js'
import type { PhaseTrace, RuleContext, ValidationTrace } from '../src/sim/tracer-seam.js'
import type { StakeInfo, ValidationResult } from '../src/sim/types.js'

const EP: Address = '0x0000000071727De22E5E9d8BAf0edAc6f37da032'
const SENDER: Address = '0x1111111111111111111111111111111111111111'
const FACTORY: Address = '0x2222222222222222222222222222222222222222'
const PAYMASTER: Address = '0x3333333333333333333333333333333333333333'
const OTHER: Address = '0x4444444444444444444444444444444444444444'

const stake = (address: Address, isStaked: boolean): StakeInfo => ({
  address,
  stake: isStaked ? 10n ** 18n : 0n,
  unstakeDelaySec: isStaked ? 86_400n : 0n,
  isStaked,
})

function ctx(opts: { factory?: boolean; factoryStaked?: boolean; aggregator?: StakeInfo } = {}): RuleContext {
  const op = {
    sender: SENDER,
    factory: opts.factory ? FACTORY : undefined,
    paymaster: PAYMASTER,
  } as UserOperation
  const result = {
    sender: stake(SENDER, false),
    factory: opts.factory ? stake(FACTORY, opts.factoryStaked ?? false) : undefined,
    paymaster: stake(PAYMASTER, false),
    aggregator: opts.aggregator ? { address: opts.aggregator.address, stake: opts.aggregator } : undefined,
  } as ValidationResult
  return { entryPoint: EP, op, result }
}

function phase(p: Partial<PhaseTrace> & Pick<PhaseTrace, 'phase' | 'entity'>): PhaseTrace {
  return { opcodes: {}, storage: {}, calls: [], codeAccess: {}, keccakInputs: [], outOfGas: false, ...p }
}
const trace = (...phases: PhaseTrace[]): ValidationTrace => ({
  outcome: { ok: true, data: '0x' },
  phases,
  codeHashes: {},
  storageReads: {},
})
const create2 = (to: Address) => ({
  type: 'CREATE2' as const,
  from: FACTORY,
  to,
  method: '0x60806040' as Hex,
  value: 0n,
  gas: 1n,
  reverted: false,
})
const checker = new Erc7562RuleChecker()
const rules = (t: ValidationTrace, c: RuleContext) => checker.check(t, c).map((v) => v.rule)

describe('opcode rules without a chain', () => {
  it('OP-032: the factory may CREATE2 only the sender', () => {
    const c = ctx({ factory: true })
    expect(rules(trace(phase({ phase: 'factory', entity: FACTORY, calls: [create2(OTHER)] })), c)).toEqual([
      'OP-032',
    ])
    expect(rules(trace(phase({ phase: 'factory', entity: FACTORY, calls: [create2(SENDER)] })), c)).toEqual(
      [],
    )
  })

  it('OP-042: the factory may look at the sender before it has code; not at another empty address', () => {
    const c = ctx({ factory: true })
    const at = (a: Address) =>
      trace(
        phase({
          phase: 'factory',
          entity: FACTORY,
          codeAccess: { [a]: { opcode: 'EXTCODESIZE', codeSize: 0 } },
        }),
      )
    expect(rules(at(SENDER), c)).toEqual([])
    expect(rules(at(OTHER), c)).toEqual(['OP-041'])
  })

  it('OP-013: an unassigned opcode is banned; OP-011 names the opcode', () => {
    const v = checker.check(
      trace(phase({ phase: 'account', entity: SENDER, opcodes: { UNKNOWN_0x0c: 1, TIMESTAMP: 2 } })),
      ctx(),
    )
    expect(v.map((x) => [x.rule, x.code])).toEqual([
      ['OP-011', -32502],
      ['OP-013', -32502],
    ])
    expect(v[0]?.message).toContain('TIMESTAMP')
    expect(v[0]?.entity).toEqual({ kind: 'account', address: SENDER })
  })

  it('OP-062: RIP-7212 0x100 only where configured', () => {
    const t = trace(
      phase({
        phase: 'account',
        entity: SENDER,
        codeAccess: { ['0x0000000000000000000000000000000000000100']: { opcode: 'STATICCALL', codeSize: 0 } },
      }),
    )
    expect(rules(t, ctx())).toEqual(['OP-062'])
    expect(new Erc7562RuleChecker({ allowedPrecompiles: [1n, 0x100n] }).check(t, ctx())).toEqual([])
  })

  it('EREP-040: an unstaked aggregator is rejected with -32505', () => {
    const agg = stake(OTHER, false)
    const [v] = checker.check(trace(), ctx({ aggregator: agg }))
    expect(v).toMatchObject({
      rule: 'EREP-040',
      code: -32505,
      entity: { kind: 'aggregator', address: OTHER },
    })
    expect(checker.check(trace(), ctx({ aggregator: stake(OTHER, true) }))).toEqual([])
  })

  it('transient reads without a read/write split count as writes (the stricter)', () => {
    const t = trace(
      phase({
        phase: 'paymaster',
        entity: PAYMASTER,
        storage: { [OTHER]: { reads: {}, writes: [], transient: ['0x01'] } },
      }),
    )
    expect(checker.check(t, ctx())[0]).toMatchObject({ rule: 'OP-070', code: -32502 })
  })
})

describe('associated storage', () => {
  const mappingSlot = (key: Address, slot: bigint) =>
    encodeAbiParameters([{ type: 'address' }, { type: 'uint256' }], [key, slot])

  it('keccak(A ‖ x) + n is associated with A for n in 0..128, not beyond', () => {
    const input = mappingSlot(SENDER, 3n)
    const base = hexToBigInt(keccak256(input))
    const bases = associationBases([input])
    const at = (n: bigint) => pad(numberToHex(base + n), { size: 32 })
    expect(isAssociated(at(0n), SENDER, bases)).toBe(true)
    expect(isAssociated(at(128n), SENDER, bases)).toBe(true)
    expect(isAssociated(at(129n), SENDER, bases)).toBe(false)
    expect(isAssociated(at(0n), OTHER, bases)).toBe(false)
  })

  it('a slot equal to the address is associated; packed 20-byte prefixes count too', () => {
    expect(isAssociated(pad(SENDER, { size: 32 }), SENDER, [])).toBe(true)
    const packed = `${SENDER}${'00'.repeat(32)}` as Hex
    expect(isAssociated(keccak256(packed), SENDER, associationBases([packed]))).toBe(true)
  })
})

describe('bundleStorageConflicts (STO-040/041)', () => {
  const op = (
    id: string,
    sender: Address,
    extra: Partial<Parameters<typeof bundleStorageConflicts>[0][number]> = {},
  ) => ({
    id,
    sender,
    accessedStorage: {},
    ...extra,
  })

  it('STO-040: an op whose paymaster or factory is another op’s sender conflicts', () => {
    const c = bundleStorageConflicts([op('a', SENDER), op('b', OTHER, { paymaster: SENDER })])
    expect(c.map((x) => [x.id, x.rule, x.address])).toEqual([['b', 'STO-040', SENDER]])
    expect(bundleStorageConflicts([op('a', SENDER), op('b', OTHER, { factory: SENDER })])[0]?.rule).toBe(
      'STO-040',
    )
  })

  it('STO-041: an op reading storage of another op’s sender conflicts; its own sender does not', () => {
    const reads = { [SENDER]: { '0x01': '0x00' } } as Record<Address, Record<Hex, Hex>>
    expect(
      bundleStorageConflicts([op('a', SENDER), op('b', OTHER, { accessedStorage: reads })]).map(
        (x) => x.rule,
      ),
    ).toEqual(['STO-041'])
    expect(bundleStorageConflicts([op('a', SENDER, { accessedStorage: reads }), op('b', OTHER)])).toEqual([])
  })

  it('two ops of the same sender do not conflict with each other', () => {
    expect(bundleStorageConflicts([op('a', SENDER), op('b', SENDER, { paymaster: PAYMASTER })])).toEqual([])
  })
})
