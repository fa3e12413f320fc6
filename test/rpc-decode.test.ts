import {
  type Address,
  encodeAbiParameters,
  encodeEventTopics,
  encodeFunctionData,
  type Hash,
  type Hex,
  parseAbi,
  zeroAddress,
} from 'viem'
import { describe, expect, it } from 'vitest'
import { ENTRY_POINTS, entryPointAbi } from '../src/chain/entrypoint.js'
import { packUserOp, type UserOperation } from '../src/chain/userop.js'
import {
  type CallFrame,
  entryPointCallsInTrace,
  opLogs,
  opsInCalldata,
  revertReasonOf,
  type WireLog,
} from '../src/rpc/bundle-decode.js'
import { encodeUserOp, stringifyJson, toWire } from '../src/rpc/encode.js'
import { handleJsonRpc } from '../src/rpc/jsonrpc.js'
import { MethodTable } from '../src/rpc/methods.js'

const EP = ENTRY_POINTS['v0.7'].address
const OTHER = '0x3333333333333333333333333333333333333333' as Address

const op = (nonce: bigint, extra: Partial<UserOperation> = {}): UserOperation => ({
  sender: '0x1111111111111111111111111111111111111111',
  nonce,
  callData: '0xabcd',
  callGasLimit: 1n,
  verificationGasLimit: 2n,
  preVerificationGas: 3n,
  maxFeePerGas: 4n,
  maxPriorityFeePerGas: 5n,
  signature: '0x01',
  ...extra,
})

describe('bundle calldata', () => {
  it('decodes handleOps and handleAggregatedOps of both versions, and nothing else', () => {
    const ops = [
      op(1n),
      op(2n, { paymaster: OTHER, paymasterVerificationGasLimit: 9n, paymasterPostOpGasLimit: 8n }),
    ]
    for (const v of ['v0.7', 'v0.8'] as const) {
      const abi = entryPointAbi(v)
      const plain = encodeFunctionData({ abi, functionName: 'handleOps', args: [ops.map(packUserOp), OTHER] })
      expect(opsInCalldata(plain)).toEqual(ops.map(packUserOp))
      const aggregated = encodeFunctionData({
        abi,
        functionName: 'handleAggregatedOps',
        args: [
          [
            { userOps: [packUserOp(ops[0]!)], aggregator: zeroAddress, signature: '0x' },
            { userOps: [packUserOp(ops[1]!)], aggregator: OTHER, signature: '0x1234' },
          ],
          OTHER,
        ],
      })
      expect(opsInCalldata(aggregated)).toEqual(ops.map(packUserOp))
    }
    expect(opsInCalldata('0x')).toBeUndefined()
    expect(opsInCalldata('0xdeadbeef00')).toBeUndefined()
  })

  it('collects every call into the entry point from a call trace, depth first, bounded', () => {
    const trace: CallFrame = {
      to: OTHER,
      input: '0x01',
      calls: [
        { to: EP.toLowerCase(), input: '0xaa' },
        { to: OTHER, input: '0x02', calls: [{ to: EP, input: '0xbb' }] },
        { to: EP, input: '0xcc' },
      ],
    }
    expect(entryPointCallsInTrace(trace, EP)).toEqual(['0xaa', '0xbb', '0xcc'])
    expect(entryPointCallsInTrace(trace, EP, 2)).toEqual(['0xaa'])
    // a malformed trace (no to, odd calls) does not throw
    expect(entryPointCallsInTrace({ calls: [{}, { to: EP }] } as CallFrame, EP)).toEqual([])
  })
})

const EVENTS = parseAbi([
  'event UserOperationEvent(bytes32 indexed userOpHash, address indexed sender, address indexed paymaster, uint256 nonce, bool success, uint256 actualGasCost, uint256 actualGasUsed)',
  'event UserOperationRevertReason(bytes32 indexed userOpHash, address indexed sender, uint256 nonce, bytes revertReason)',
  'event BeforeExecution()',
  'event Deposited(address indexed account, uint256 totalDeposit)',
])
const H1 = `0x${'01'.repeat(32)}` as Hash
const H2 = `0x${'02'.repeat(32)}` as Hash

function log(address: Address, topics: Hex[], data: Hex = '0x', tag = ''): WireLog & { tag: string } {
  return { address: address.toLowerCase(), topics, data, tag }
}
const userOpEvent = (h: Hash) =>
  log(
    EP,
    encodeEventTopics({ abi: EVENTS, eventName: 'UserOperationEvent', args: { userOpHash: h } }) as Hex[],
    '0x',
    `event ${h.slice(0, 4)}`,
  )
const deposited = (tag: string, from: Address = EP) =>
  log(from, encodeEventTopics({ abi: EVENTS, eventName: 'Deposited' }) as Hex[], '0x', tag)

describe('receipt logs of one op', () => {
  const logs = [
    deposited('validation 1'),
    deposited('validation 2'),
    log(EP, encodeEventTopics({ abi: EVENTS, eventName: 'BeforeExecution' }) as Hex[], '0x', 'before'),
    deposited('exec 1 a', OTHER),
    deposited('exec 1 b'),
    userOpEvent(H1),
    deposited('exec 2', OTHER),
    userOpEvent(H2),
  ]

  it('cuts between BeforeExecution or the previous op’s event and the op’s own event', () => {
    expect(opLogs(logs, H1, EP).map((l) => l.tag)).toEqual(['exec 1 a', 'exec 1 b'])
    expect(opLogs(logs, H2, EP).map((l) => l.tag)).toEqual(['exec 2'])
    expect(opLogs(logs, `0x${'03'.repeat(32)}`, EP)).toEqual([])
    // another contract's look-alike events are not boundaries
    expect(opLogs(logs, H1, OTHER)).toEqual([])
  })

  it('reads the revert reason the entry point logged for the op', () => {
    const reason = '0x08c379a0' as Hex
    const revert = log(
      EP,
      encodeEventTopics({
        abi: EVENTS,
        eventName: 'UserOperationRevertReason',
        args: { userOpHash: H2 },
      }) as Hex[],
      encodeAbiParameters([{ type: 'uint256' }, { type: 'bytes' }], [7n, reason]),
    )
    expect(revertReasonOf([...logs, revert], H2, EP)).toBe(reason)
    expect(revertReasonOf([...logs, revert], H1, EP)).toBeUndefined()
    expect(revertReasonOf([{ ...revert, data: '0x12' }], H2, EP)).toBeUndefined()
  })
})

describe('wire encoding', () => {
  it('encodes ops with hex quantities and only the optional parts present', () => {
    expect(encodeUserOp(op(255n))).toEqual({
      sender: '0x1111111111111111111111111111111111111111',
      nonce: '0xff',
      callData: '0xabcd',
      callGasLimit: '0x1',
      verificationGasLimit: '0x2',
      preVerificationGas: '0x3',
      maxFeePerGas: '0x4',
      maxPriorityFeePerGas: '0x5',
      signature: '0x01',
    })
    const withParts = encodeUserOp(op(0n, { factory: OTHER, paymaster: OTHER, paymasterPostOpGasLimit: 16n }))
    expect(withParts).toMatchObject({
      factory: OTHER,
      factoryData: '0x',
      paymaster: OTHER,
      paymasterVerificationGasLimit: '0x0',
      paymasterPostOpGasLimit: '0x10',
      paymasterData: '0x',
    })
  })

  it('turns viem-shaped receipts into the node’s wire form and leaves wire form alone', () => {
    expect(
      toWire({ status: 'reverted', type: 'legacy', gasUsed: 5n, logIndex: 2, removed: false, to: null }),
    ).toEqual({
      status: '0x0',
      type: '0x0',
      gasUsed: '0x5',
      logIndex: '0x2',
      removed: false,
      to: null,
    })
    const wire = { status: '0x1', type: '0x2', logs: [{ logIndex: '0x0', topics: ['0xab'] }] }
    expect(toWire(wire)).toEqual(wire)
    expect(stringifyJson({ a: 10n })).toBe('{"a":"0xa"}')
  })
})

describe('JSON-RPC dispatch without HTTP', () => {
  it('never throws: cyclic results and odd errors become error objects', async () => {
    const table = new MethodTable(false)
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    table.register('t_cyclic', async () => cyclic)
    table.register('t_throwsString', async () => {
      throw 'a string'
    })
    table.register('t_sync', (() => {
      throw new Error('sync')
    }) as never)
    const internal: string[] = []
    const out = await handleJsonRpc(
      JSON.stringify(
        ['t_cyclic', 't_throwsString', 't_sync'].map((m, i) => ({ jsonrpc: '2.0', id: i, method: m })),
      ),
      table,
      { maxBatchSize: 10 },
      { onInternalError: (m) => internal.push(m) },
    )
    const answers = JSON.parse(out!)
    expect(answers.map((a: { error: { code: number } }) => a.error.code)).toEqual([-32603, -32603, -32603])
    expect(internal.sort()).toEqual(['t_cyclic', 't_sync', 't_throwsString'])
  })

  it('runs notifications but answers nothing for them', async () => {
    const table = new MethodTable(false)
    let ran = 0
    table.register('t_note', async () => {
      ran++
      return 1
    })
    expect(
      await handleJsonRpc('{"jsonrpc":"2.0","method":"t_note"}', table, { maxBatchSize: 10 }),
    ).toBeUndefined()
    expect(
      await handleJsonRpc('[{"jsonrpc":"2.0","method":"t_note"}]', table, { maxBatchSize: 10 }),
    ).toBeUndefined()
    expect(ran).toBe(2)
  })
})
