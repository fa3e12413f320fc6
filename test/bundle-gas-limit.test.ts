/**
 * The bundle transaction's gas limit from each op's simulated validation gas (bundle-gas.ts), proven
 * on anvil with the real EntryPoints and the worst ops this suite can build, in one bundle: brand-new
 * accounts whose factory deploys them under a loose 600,000 verification limit, a call that burns
 * nearly all of its 2,000,000 callGasLimit, and a paymaster whose postOp burns nearly all of its
 * limit (contracts/src/GasBurners.sol; v0.6's from VersionPaymasters.sol), the big ones paying the
 * least so they run last, where a short limit would fail them with "AA95 out of gas". The bundle must
 * be mined with every op succeeded, under a limit far below the declared one.
 */
import { type Address, encodeAbiParameters, encodeFunctionData, type Hash, parseEventLogs } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { V06_INNER_GAS_OVERHEAD } from '../src/chain/entrypoint/gas-rules.js'
import { entryPointOfVersion } from '../src/chain/entrypoint/registry.js'
import { v06InitCode, v06PaymasterAndData } from '../src/chain/entrypoint/v06-op.js'
import { ENTRY_POINT_VERSIONS, type EntryPointVersion, entryPointAbi } from '../src/chain/entrypoint.js'
import type { UserOperation } from '../src/chain/userop.js'
import { encodeUserOp } from '../src/rpc/encode.js'
import { buildOp, currentFees, executeCallData, newOwner } from './harness/account.js'
import { bundleGasFor, bundleOps } from './harness/bundle.js'
import { startTestChain, type TestChain } from './harness/chain.js'
import { deployTestContract, testArtifact } from './support/contracts.js'
import { type ConveyorApp, startConveyorApp } from './support/conveyor-app.js'

const CALL_GAS = 2_000_000n
const CALL_BURN = 1_900_000n
const POSTOP_GAS = 300_000n
const POSTOP_BURN = 250_000n
const NEW_ACCOUNTS = 3

let chain: TestChain
let burner: Address
beforeAll(async () => {
  chain = await startTestChain()
  burner = await deployTestContract(chain, 'GasBurner', [])
}, 60_000)
afterAll(async () => {
  await chain?.stop()
})

/** The op as eth_sendUserOperation takes it for its EntryPoint version. */
function wire(version: EntryPointVersion, op: UserOperation): Record<string, unknown> {
  const v07 = encodeUserOp(op)
  if (entryPointOfVersion(version).opShape !== 'v0.6') return v07
  return {
    sender: v07.sender,
    nonce: v07.nonce,
    initCode: v06InitCode(op),
    callData: v07.callData,
    callGasLimit: v07.callGasLimit,
    verificationGasLimit: v07.verificationGasLimit,
    preVerificationGas: v07.preVerificationGas,
    maxFeePerGas: v07.maxFeePerGas,
    maxPriorityFeePerGas: v07.maxPriorityFeePerGas,
    paymasterAndData: v06PaymasterAndData(op),
    signature: v07.signature,
  }
}

async function deployedOwner(version: EntryPointVersion) {
  const owner = newOwner()
  const first = await buildOp(chain, version, { owner })
  expect((await bundleOps(chain, version, [first.op])).events[0]?.success).toBe(true)
  return owner
}

describe.each(ENTRY_POINT_VERSIONS)('bundle gas limit from simulated validation, %s on anvil', (version) => {
  let conveyor: ConveyorApp
  let paymaster: Address
  const v06 = entryPointOfVersion(version).opShape === 'v0.6'
  const ep = () => chain.deployment.entryPoints[version]

  beforeAll(async () => {
    conveyor = await startConveyorApp(chain)
    paymaster = v06
      ? await deployTestContract(chain, 'PostOpPaymasterV06', [ep()], { deposit: 10n ** 19n })
      : await deployTestContract(chain, 'PostOpPaymaster', [ep()], { deposit: 10n ** 19n })
  }, 60_000)
  afterAll(async () => {
    await conveyor?.stop()
  })

  it('new accounts, a call that burns its limit and a postOp that burns its limit: mined, all succeeded, far under the declared limit', async () => {
    const fees = await currentFees(chain)
    // Higher tips first in the bundle: the burners pay the least, so they run last.
    const tip = (extra: bigint) => ({
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas + extra,
      maxFeePerGas: fees.maxFeePerGas + extra,
    })
    const ops: UserOperation[] = []
    for (let i = 0; i < NEW_ACCOUNTS; i++) {
      ops.push((await buildOp(chain, version, { owner: newOwner(), overrides: tip(1_000_000n) })).op)
    }
    const burnCall = encodeFunctionData({
      abi: testArtifact('GasBurner').abi,
      functionName: 'burn',
      args: [CALL_BURN],
    })
    const caller = await deployedOwner(version)
    ops.push(
      (
        await buildOp(chain, version, {
          owner: caller,
          callData: executeCallData(version, burner, 0n, burnCall),
          overrides: { callGasLimit: CALL_GAS, ...tip(500_000n) },
        })
      ).op,
    )
    const sponsored = await deployedOwner(version)
    const burnData = encodeAbiParameters([{ type: 'uint256' }], [POSTOP_BURN])
    ops.push(
      (
        await buildOp(chain, version, {
          owner: sponsored,
          overrides: {
            paymaster,
            paymasterData: burnData,
            ...(v06
              ? // v0.6: one verificationGasLimit covers validation and the postOp.
                { verificationGasLimit: POSTOP_GAS + V06_INNER_GAS_OVERHEAD }
              : { paymasterVerificationGasLimit: 100_000n, paymasterPostOpGasLimit: POSTOP_GAS }),
            ...tip(0n),
          },
        })
      ).op,
    )
    const hashes: Hash[] = []
    for (const op of ops) {
      hashes.push(await conveyor.rpc<Hash>('eth_sendUserOperation', [wire(version, op), ep()]))
    }
    const txHash = await conveyor.bundleNow()
    const [tx, receipt] = await Promise.all([
      chain.client.getTransaction({ hash: txHash }),
      chain.client.getTransactionReceipt({ hash: txHash }),
    ])
    expect(receipt.status).toBe('success')
    const events = parseEventLogs({
      abi: entryPointAbi(version),
      eventName: 'UserOperationEvent',
      logs: receipt.logs.filter((l) => l.address.toLowerCase() === ep().toLowerCase()),
    }).map((l) => l.args as unknown as { userOpHash: Hash; success: boolean })
    expect(events.map((e) => e.userOpHash).sort()).toEqual([...hashes].sort())
    expect(events.every((e) => e.success)).toBe(true)
    // The burners ran last and to the end.
    expect(events.slice(-2).map((e) => e.userOpHash)).toEqual(hashes.slice(-2))
    const read = (address: Address, name: string, fn: string) =>
      chain.client.readContract({ address, abi: testArtifact(name).abi, functionName: fn })
    expect(await read(burner, 'GasBurner', 'burns')).toBeGreaterThan(0n)
    expect(await read(paymaster, v06 ? 'PostOpPaymasterV06' : 'PostOpPaymaster', 'postOps')).toBe(1n)

    // Declared: every verification limit in full (v0.6 with the postOp's context, which runs).
    const declared = bundleGasFor(version, ops, tx.input, v06 ? burnData : undefined)
    expect(tx.gas).toBeGreaterThanOrEqual(receipt.gasUsed)
    // Each new account declared 600,000 for verification and uses about half: well over 200,000 saved each.
    expect(declared - tx.gas).toBeGreaterThan(BigInt(NEW_ACCOUNTS) * 200_000n)
    console.log(
      `${version}: gas used ${receipt.gasUsed}, limit ${tx.gas} (${Number((tx.gas * 1000n) / receipt.gasUsed) / 1000}× used), declared ${declared} (${Number((declared * 1000n) / receipt.gasUsed) / 1000}× used)`,
    )
  }, 120_000)
})
