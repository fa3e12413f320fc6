import {
  type Address,
  encodeAbiParameters,
  encodeErrorResult,
  type Hex,
  type PrivateKeyAccount,
  parseAbi,
} from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { entryPointOfVersion } from '../src/chain/entrypoint/registry.js'
import { ENTRY_POINT_VERSIONS, type EntryPointVersion, entryPointAbi } from '../src/chain/entrypoint.js'
import {
  aaCategory,
  aaCode,
  aaRpcCode,
  type DecodedRevert,
  decodeRevert,
  describeRevert,
  extractRevertData,
  revertAaCode,
} from '../src/chain/revert.js'
import { packUserOp, type UserOperation } from '../src/chain/userop.js'
import { RpcCode } from '../src/util/errors.js'
import { buildOp, newOwner } from './harness/account.js'
import { bundleOps, handleOpsCallData } from './harness/bundle.js'
import { startTestChain, type TestChain } from './harness/chain.js'
import { deployVerifyingPaymaster, withVerifyingPaymaster } from './harness/paymaster.js'

let chain: TestChain
beforeAll(async () => {
  chain = await startTestChain()
})
afterAll(async () => {
  await chain?.stop()
})

type Path = 'handleOps' | 'simulateValidation'

/** Runs the op through the real EntryPoint by eth_call and returns what the thrown error carried. */
async function rejection(version: EntryPointVersion, op: UserOperation, path: Path): Promise<DecodedRevert> {
  const entryPoint = chain.deployment.entryPoints[version]
  const call =
    path === 'handleOps'
      ? { to: entryPoint, data: handleOpsCallData(version, [op], newOwner().address) }
      : {
          to: entryPoint,
          // v0.6 on the EntryPoint itself; v0.7+ with EntryPointSimulations' code put at its address.
          data: entryPointOfVersion(version).simulation.validation(op),
          stateOverride: Object.entries(entryPointOfVersion(version).simulation.stateOverride).map(
            ([address, o]) => ({ address: address as Address, code: o.code }),
          ),
        }
  const err = await chain.client.call({ ...call, gas: 10_000_000n }).then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err, `${path} of the op should revert`).toBeDefined()
  const data = extractRevertData(err)
  expect(data).toBeDefined()
  return decodeRevert(data!)
}

interface Case {
  code: string
  reason: string
  paths: Path[]
  make(version: EntryPointVersion): Promise<UserOperation>
  /** What FailedOpWithRevert's inner revert must decode to. */
  inner?: (version: EntryPointVersion) => Partial<DecodedRevert>
}

const pmSigner = newOwner()
const paymasters = new Map<string, Address>()
async function paymaster(version: EntryPointVersion, deposit: bigint): Promise<Address> {
  const key = `${version}/${deposit}`
  if (!paymasters.has(key))
    paymasters.set(key, await deployVerifyingPaymaster(chain, version, pmSigner.address, deposit))
  return paymasters.get(key)!
}

/**
 * A fresh op sponsored by a VerifyingPaymaster whose data `signer` signed (optionally altered
 * afterwards by `tamper`), then signed by the account's owner over the final fields.
 */
async function paymasterOp(
  version: EntryPointVersion,
  deposit: bigint,
  signer: PrivateKeyAccount,
  tamper: (paymasterData: Hex) => Hex = (d) => d,
) {
  const owner = newOwner()
  const { op } = await buildOp(chain, version, { owner, fund: false, sign: false })
  const withPm = await withVerifyingPaymaster(chain, op, await paymaster(version, deposit), signer)
  const overrides = { ...withPm, paymasterData: tamper(withPm.paymasterData!), signature: undefined }
  return (await buildOp(chain, version, { owner, fund: false, overrides })).op
}

const CASES: Case[] = [
  {
    code: 'AA10',
    reason: 'AA10 sender already constructed',
    paths: ['handleOps', 'simulateValidation'],
    async make(version) {
      const owner = newOwner()
      const first = await buildOp(chain, version, { owner })
      expect((await bundleOps(chain, version, [first.op])).events[0]?.success).toBe(true)
      const { factory, factoryData } = first.op
      return (await buildOp(chain, version, { owner, overrides: { factory, factoryData } })).op
    },
  },
  {
    code: 'AA13',
    reason: 'AA13 initCode failed or OOG',
    paths: ['handleOps', 'simulateValidation'],
    // Too little verification gas for the factory to deploy the account.
    make: async (version) =>
      (await buildOp(chain, version, { owner: newOwner(), overrides: { verificationGasLimit: 40_000n } })).op,
  },
  {
    code: 'AA13',
    reason: 'AA13 initCode failed or OOG',
    paths: ['handleOps'],
    // The factory reverts on calldata it does not know.
    make: async (version) =>
      (await buildOp(chain, version, { owner: newOwner(), overrides: { factoryData: '0xdeadbeef' } })).op,
  },
  {
    code: 'AA20',
    reason: 'AA20 account not deployed',
    paths: ['simulateValidation'],
    make: async (version) =>
      (
        await buildOp(chain, version, {
          owner: newOwner(),
          overrides: { factory: undefined, factoryData: undefined },
        })
      ).op,
  },
  {
    code: 'AA21',
    reason: "AA21 didn't pay prefund",
    paths: ['handleOps', 'simulateValidation'],
    make: async (version) => (await buildOp(chain, version, { owner: newOwner(), fund: false })).op,
  },
  {
    code: 'AA23',
    reason: 'AA23 reverted',
    paths: ['handleOps', 'simulateValidation'],
    // An empty signature makes SimpleAccount's ECDSA.recover revert.
    make: async (version) =>
      (await buildOp(chain, version, { owner: newOwner(), overrides: { signature: '0x' } })).op,
    inner: () => ({ kind: 'CustomError', name: 'ECDSAInvalidSignatureLength', args: [0n] }),
  },
  {
    code: 'AA24',
    reason: 'AA24 signature error',
    paths: ['handleOps'],
    // Unsigned: a valid signature by somebody else.
    make: async (version) => (await buildOp(chain, version, { owner: newOwner(), sign: false })).op,
  },
  {
    code: 'AA25',
    reason: 'AA25 invalid account nonce',
    paths: ['handleOps', 'simulateValidation'],
    make: async (version) => (await buildOp(chain, version, { owner: newOwner(), nonce: 7n })).op,
  },
  {
    code: 'AA30',
    reason: 'AA30 paymaster not deployed',
    paths: ['simulateValidation'],
    make: async (version) =>
      (
        await buildOp(chain, version, {
          owner: newOwner(),
          overrides: {
            paymaster: newOwner().address,
            paymasterVerificationGasLimit: 100_000n,
            paymasterPostOpGasLimit: 0n,
            paymasterData: '0x',
          },
        })
      ).op,
  },
  {
    code: 'AA31',
    reason: 'AA31 paymaster deposit too low',
    paths: ['handleOps', 'simulateValidation'],
    make: (version) => paymasterOp(version, 0n, pmSigner),
  },
  {
    code: 'AA33',
    reason: 'AA33 reverted',
    paths: ['handleOps', 'simulateValidation'],
    // A 10-byte paymaster signature: the VerifyingPaymaster's require fails.
    make: (version) => paymasterOp(version, 10n ** 18n, pmSigner, (d) => d.slice(0, 2 + 64 * 2 + 20) as Hex),
    inner: () => ({
      kind: 'Error',
      message: 'VerifyingPaymaster: invalid signature length in paymasterAndData',
    }),
  },
  {
    code: 'AA34',
    reason: 'AA34 signature error',
    paths: ['handleOps'],
    make: (version) => paymasterOp(version, 10n ** 18n, newOwner()),
  },
]

describe.each(ENTRY_POINT_VERSIONS)('real EntryPoint %s reverts, decoded', (version) => {
  const ep = entryPointOfVersion(version)
  // v0.6 has no FailedOpWithRevert: the inner reason is appended to the FailedOp reason.
  const withRevert = ep.opShape !== 'v0.6'
  for (const c of CASES) {
    // v0.9 ignores the initCode of a deployed sender (test/entrypoint-v09.test.ts).
    if (c.code === 'AA10' && ep.factoryWithDeployedSender === 'ignore') continue
    for (const path of c.paths) {
      it(`${c.code} via ${path}${c.code === 'AA13' && c.paths.length === 1 ? ' (factory reverts)' : ''}`, async () => {
        const op = await c.make(version)
        const d = await rejection(version, op, path)
        if (c.code === 'AA30' && version === 'v0.9') {
          // v0.9's EntryPointSimulations names the missing paymaster in a custom error.
          expect(d).toMatchObject({ kind: 'CustomError', name: 'PaymasterNotDeployed', args: [op.paymaster] })
          return
        }
        expect(d.kind).toBe(c.inner && withRevert ? 'FailedOpWithRevert' : 'FailedOp')
        if (d.kind !== 'FailedOp' && d.kind !== 'FailedOpWithRevert') throw new Error(describeRevert(d))
        expect(d.opIndex).toBe(0n)
        if (withRevert) expect(d.reason).toBe(c.reason)
        else expect(d.reason.startsWith(c.reason)).toBe(true)
        expect(revertAaCode(d)).toBe(c.code)
        if (c.inner && d.kind === 'FailedOpWithRevert') expect(d.innerDecoded).toMatchObject(c.inner(version))
      })
    }
  }

  it('an op with a paymaster signed by its signer passes (the fixture for the AA3x cases is sound)', async () => {
    const op = await paymasterOp(version, 10n ** 18n, pmSigner)
    const r = await bundleOps(chain, version, [op])
    expect(r.events).toEqual([expect.objectContaining({ success: true, paymaster: op.paymaster })])
  })

  it('reports the op index of the failing op in a bundle', async () => {
    const good = await buildOp(chain, version, { owner: newOwner() })
    const bad = await buildOp(chain, version, { owner: newOwner(), nonce: 3n })
    const entryPoint = chain.deployment.entryPoints[version]
    // The good op alone goes through: the revert below is the second op's.
    await chain.client.call({
      to: entryPoint,
      data: handleOpsCallData(version, [good.op], newOwner().address),
    })
    const err = await chain.client
      .call({ to: entryPoint, data: handleOpsCallData(version, [good.op, bad.op], newOwner().address) })
      .then(
        () => undefined,
        (e: unknown) => e,
      )
    expect(decodeRevert(extractRevertData(err)!)).toMatchObject({
      kind: 'FailedOp',
      opIndex: 1n,
      reason: 'AA25 invalid account nonce',
    })
  })
})

describe('extractRevertData from real errors', () => {
  it('reads viem CallExecutionError, ContractFunctionRevertedError, estimateGas errors and raw JSON-RPC', async () => {
    const version = 'v0.7'
    const entryPoint = chain.deployment.entryPoints[version]
    const { op } = await buildOp(chain, version, { owner: newOwner(), nonce: 9n })
    const data = handleOpsCallData(version, [op], newOwner().address)
    const expected = { kind: 'FailedOp', opIndex: 0n, reason: 'AA25 invalid account nonce' }

    const callErr = await chain.client.call({ to: entryPoint, data }).catch((e: unknown) => e)
    expect(decodeRevert(extractRevertData(callErr)!)).toEqual(expected)

    const estimateErr = await chain.client.estimateGas({ to: entryPoint, data }).catch((e: unknown) => e)
    expect(decodeRevert(extractRevertData(estimateErr)!)).toEqual(expected)

    // viem decodes with the ABI it was given and keeps the bytes in `raw`.
    const simErr = await chain.client
      .simulateContract({
        address: entryPoint,
        abi: entryPointAbi(version),
        functionName: 'handleOps',
        args: [[packUserOp(op)], newOwner().address],
      })
      .catch((e: unknown) => e)
    expect(decodeRevert(extractRevertData(simErr)!)).toEqual(expected)

    const response = (await (
      await fetch(chain.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'eth_call',
          params: [{ to: entryPoint, data }, 'latest'],
        }),
      })
    ).json()) as { error: unknown }
    expect(decodeRevert(extractRevertData(response)!)).toEqual(expected)
    expect(decodeRevert(extractRevertData(response.error)!)).toEqual(expected)
  })

  it("returns '0x' for a real revert without data, and decodes it as Empty", async () => {
    // The factory has no fallback: unknown calldata reverts with no data.
    const err = await chain.client
      .call({ to: chain.deployment.factories['v0.7'], data: '0xdeadbeef' })
      .catch((e: unknown) => e)
    expect(extractRevertData(err)).toBe('0x')
    expect(decodeRevert('0x')).toEqual({ kind: 'Empty' })
  })

  it('returns undefined for errors that are no revert', async () => {
    const dead = await chain.client
      .request({ method: 'eth_nope' as never, params: [] as never })
      .catch((e: unknown) => e)
    expect(dead).toBeDefined()
    expect(extractRevertData(dead)).toBeUndefined()
    expect(extractRevertData(new Error('socket hang up'))).toBeUndefined()
    expect(extractRevertData(undefined)).toBeUndefined()
    expect(extractRevertData({ code: -32000, message: 'nonce too low' })).toBeUndefined()
  })
})

const FAILED_OP_ABI = parseAbi([
  'error FailedOp(uint256 opIndex, string reason)',
  'error FailedOpWithRevert(uint256 opIndex, string reason, bytes inner)',
  'error SignatureValidationFailed(address aggregator)',
  'error Error(string)',
  'error Panic(uint256)',
])
const enc = (errorName: string, args: readonly unknown[]) =>
  encodeErrorResult({ abi: FAILED_OP_ABI, errorName, args } as never) as Hex

describe('decodeRevert, unit cases', () => {
  it.each([
    [
      'Error(string)',
      enc('Error', ['AA90 invalid beneficiary']),
      { kind: 'Error', message: 'AA90 invalid beneficiary' },
    ],
    [
      'Panic(0x11)',
      enc('Panic', [0x11n]),
      { kind: 'Panic', code: 17n, description: 'arithmetic overflow or underflow' },
    ],
    ['Panic(0x99)', enc('Panic', [0x99n]), { kind: 'Panic', code: 0x99n, description: 'unknown panic code' }],
    [
      'SignatureValidationFailed',
      enc('SignatureValidationFailed', ['0x00000000000000000000000000000000000000aa']),
      { kind: 'SignatureValidationFailed', aggregator: '0x00000000000000000000000000000000000000AA' },
    ],
    ['empty', '0x' as Hex, { kind: 'Empty' }],
    ['short', '0xabcd' as Hex, { kind: 'Raw', data: '0xabcd' }],
    [
      'unknown selector',
      '0x12345678ff' as Hex,
      { kind: 'Raw', selector: '0x12345678', data: '0x12345678ff' },
    ],
    // A known selector whose arguments are cut off is kept raw, not half-decoded.
    [
      'truncated FailedOp',
      enc('FailedOp', [0n, 'AA21 x']).slice(0, 80) as Hex,
      { kind: 'Raw', selector: '0x220266b6' },
    ],
  ])('%s', (_name, data, expected) => {
    expect(decodeRevert(data)).toMatchObject(expected)
  })

  it('decodes FailedOpWithRevert with its inner revert, nested', () => {
    const inner = enc('Error', ['nope'])
    const data = enc('FailedOpWithRevert', [2n, 'AA33 reverted', inner])
    expect(decodeRevert(data)).toEqual({
      kind: 'FailedOpWithRevert',
      opIndex: 2n,
      reason: 'AA33 reverted',
      inner,
      innerDecoded: { kind: 'Error', message: 'nope' },
    })
    const postOp = encodeErrorResult({
      abi: parseAbi(['error PostOpReverted(bytes returnData)']),
      errorName: 'PostOpReverted',
      args: ['0x'],
    })
    expect(decodeRevert(enc('FailedOpWithRevert', [0n, 'AA50 postOp reverted', postOp]))).toMatchObject({
      innerDecoded: { kind: 'CustomError', name: 'PostOpReverted', args: ['0x'] },
    })
    expect(describeRevert(decodeRevert(data))).toBe('FailedOp(op 2): AA33 reverted: nope')
  })

  it('stops decoding nested inner reverts after a few levels, keeping the bytes', () => {
    let data = enc('Error', ['bottom'])
    for (let i = 0; i < 6; i++) data = enc('FailedOpWithRevert', [BigInt(i), `AA33 level ${i}`, data])
    let d = decodeRevert(data)
    let levels = 0
    while (d.kind === 'FailedOpWithRevert') {
      d = d.innerDecoded
      levels++
    }
    expect(levels).toBe(5)
    expect(d).toMatchObject({ kind: 'Raw' })
  })

  it('reads hex from the error shapes other nodes and libraries use', () => {
    const data = enc('FailedOp', [0n, "AA21 didn't pay prefund"])
    for (const shape of [
      data,
      { error: { code: 3, message: 'execution reverted', data } },
      { error: { code: -32603, message: 'Error', data: { message: 'reverted', data } } },
      { code: -32015, message: 'VM execution error.', data: `Reverted ${data}` },
      { info: { error: { code: 3, data } } },
      { cause: { cause: { cause: { data: { data } } } } },
      {
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          error: { code: 3, message: 'execution reverted', data },
        }),
      },
    ]) {
      expect(extractRevertData(shape)).toBe(data)
    }
    expect(extractRevertData({ code: 3, message: 'execution reverted' })).toBe('0x')
    // Odd-length or non-hex strings are not revert data.
    expect(extractRevertData({ data: '0xabc' })).toBeUndefined()
    expect(extractRevertData({ data: 'hello' })).toBeUndefined()
    const cyclic: Record<string, unknown> = {}
    cyclic.cause = cyclic
    expect(extractRevertData(cyclic)).toBeUndefined()
  })

  it('parses AA codes and their categories', () => {
    expect(aaCode("AA21 didn't pay prefund")).toBe('AA21')
    expect(aaCode('AA93 invalid paymasterAndData')).toBe('AA93')
    expect(aaCode('VerifyingPaymaster: invalid signature length')).toBeUndefined()
    expect(aaCode('AA2 short')).toBeUndefined()
    expect(['AA13', 'AA25', 'AA33', 'AA95', 'AA50'].map(aaCategory)).toEqual([
      'factory',
      'account',
      'paymaster',
      'bundle',
      'other',
    ])
    expect(aaRpcCode('AA24')).toBe(RpcCode.InvalidSignature)
    expect(aaRpcCode('AA34')).toBe(RpcCode.InvalidSignature)
    expect(aaRpcCode('AA31')).toBe(RpcCode.PaymasterDepositTooLow)
    expect(aaRpcCode('AA33')).toBe(RpcCode.RejectedByPaymaster)
    expect(aaRpcCode('AA22')).toBe(RpcCode.ShortDeadline)
    expect(aaRpcCode('AA25')).toBe(RpcCode.RejectedByEpOrAccount)
    expect(revertAaCode(decodeRevert(enc('Error', ['AA20 account not deployed'])))).toBe('AA20')
    expect(revertAaCode({ kind: 'Empty' })).toBeUndefined()
  })
})

// Keeps the ABI-encoding helper honest: viem encodes the same bytes as a hand-built FailedOp.
it('FailedOp selector and encoding match the EntryPoint ABI', () => {
  const handBuilt = `0x220266b6${encodeAbiParameters([{ type: 'uint256' }, { type: 'string' }], [1n, 'AA25 x']).slice(2)}`
  expect(enc('FailedOp', [1n, 'AA25 x'])).toBe(handBuilt)
})
