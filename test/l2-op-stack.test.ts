import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Address, type Hash, type Hex, parseAbi, serializeTransaction } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ChainSpec, chainSpecFor, OP_GAS_PRICE_ORACLE } from '../src/chain/chain-spec.js'
import { resolveChainSpec } from '../src/chain/chain-spec-file.js'
import type { L1FeeParams } from '../src/chain/da/op-stack-math.js'
import { entryPointOfVersion } from '../src/chain/entrypoint/registry.js'
import { requiredPreVerificationGas } from '../src/chain/gas.js'
import type { UserOperation } from '../src/chain/userop.js'
import { encodeUserOp } from '../src/rpc/encode.js'
import { buildOp, newOwner, signUserOp } from './harness/account.js'
import { startTestChain, type TestChain } from './harness/chain.js'
import { JsonRpcError, jsonRpc } from './support/bundler-load.js'
import { type ConveyorApp, startConveyorApp } from './support/conveyor-app.js'
import { installOpStackOracle, setL1Values } from './support/l2-chain.js'

// An OP-stack chain on anvil: the real GasPriceOracle and L1Block bytecode at their predeploys
// (support/l2-chain.ts), a chain spec file that prices the L1 data fee as Base does. The L1 base fee
// is set high so the op's L1 share dominates its preVerificationGas.
const L1: L1FeeParams = {
  l1BaseFee: 5_000n * 10n ** 9n,
  blobBaseFee: 10n ** 9n,
  baseFeeScalar: 2269n,
  blobBaseFeeScalar: 1_055_762n,
}
const VERSION = 'v0.7' as const
const GPO = parseAbi(['function getL1Fee(bytes) view returns (uint256)'])

let chain: TestChain
let conveyor: ConveyorApp
let spec: ChainSpec
const ep = (): Address => chain.deployment.entryPoints[VERSION]

beforeAll(async () => {
  chain = await startTestChain()
  await installOpStackOracle(chain, L1)
  const dir = mkdtempSync(join(tmpdir(), 'conveyor-op-'))
  const file = join(dir, 'op-dev.toml')
  writeFileSync(
    file,
    [
      'base = "dev"',
      'da_pre_verification_gas = true',
      'da_gas_oracle_type = "OPTIMISM_BEDROCK"',
      `da_gas_oracle_contract_address = "${OP_GAS_PRICE_ORACLE}"`,
      'include_da_gas_in_gas_limit = false',
    ].join('\n'),
  )
  spec = resolveChainSpec({ file }, chain.chainId)
  conveyor = await startConveyorApp(chain, [], { chainSpec: spec })
}, 60_000)

afterAll(async () => {
  await conveyor?.stop()
  await chain?.stop()
})

const send = (op: UserOperation) =>
  jsonRpc<Hash>(conveyor.rpcUrl, 'eth_sendUserOperation', [encodeUserOp(op), ep()])

/** The op with its gas from eth_estimateUserOperationGas, signed. */
async function estimated(op: UserOperation, owner: ReturnType<typeof newOwner>): Promise<UserOperation> {
  const {
    callGasLimit: _c,
    verificationGasLimit: _v,
    preVerificationGas: _p,
    ...draft
  } = encodeUserOp(op) as unknown as Record<string, Hex>
  const est = await jsonRpc<Record<string, Hex>>(conveyor.rpcUrl, 'eth_estimateUserOperationGas', [
    draft,
    ep(),
  ])
  const out = {
    ...op,
    callGasLimit: BigInt(est.callGasLimit as Hex),
    verificationGasLimit: BigInt(est.verificationGasLimit as Hex),
    preVerificationGas: BigInt(est.preVerificationGas as Hex),
  }
  return { ...out, signature: await signUserOp(chain, VERSION, out, owner) }
}

async function bundleNow(): Promise<Hash | { status: string; reason: string }> {
  return jsonRpc(conveyor.rpcUrl, 'debug_bundler_sendBundleNow')
}

/** How often the proposer has left an op out for not covering its L1 share. */
async function l1Skips(): Promise<number> {
  const m = await conveyor.app.registry.getSingleMetric('conveyor_proposer_ops_skipped_total')?.get()
  return m?.values.find((v) => v.labels.reason === 'l1_fee_not_covered')?.value ?? 0
}

const calldataOnly = (op: UserOperation) =>
  requiredPreVerificationGas(
    { ...op, signature: `0x${'ff'.repeat(65)}` },
    chainSpecFor(chain.chainId),
    entryPointOfVersion(VERSION).encodedOpForCalldata,
  )

describe('OP-stack L1 data fee on anvil (real GasPriceOracle)', () => {
  it('estimate → admitted → bundle mined; the bundle earns at least its L2 cost plus its L1 fee', async () => {
    const owner = newOwner()
    const { op: draft } = await buildOp(chain, VERSION, { owner, sign: false })
    const op = await estimated(draft, owner)
    // The L1 share is most of the preVerificationGas here.
    expect(op.preVerificationGas).toBeGreaterThan(2n * calldataOnly(op))
    const opHash = await send(op)
    const txHash = await bundleNow()
    expect(typeof txHash).toBe('string')
    const receipt = await chain.client.waitForTransactionReceipt({
      hash: txHash as Hash,
      pollingInterval: 50,
    })
    expect(receipt.status).toBe('success')
    const opReceipt = await jsonRpc<{ success: boolean; actualGasCost: Hex }>(
      conveyor.rpcUrl,
      'eth_getUserOperationReceipt',
      [opHash],
    )
    expect(opReceipt.success).toBe(true)
    // What OP charges the bundler on L1: the GasPriceOracle's fee of the unsigned transaction, at its block.
    const tx = await chain.client.getTransaction({ hash: txHash as Hash })
    const unsigned = serializeTransaction({
      type: 'eip1559',
      chainId: chain.chainId,
      nonce: tx.nonce,
      to: tx.to as Address,
      data: tx.input,
      gas: tx.gas,
      maxFeePerGas: tx.maxFeePerGas as bigint,
      maxPriorityFeePerGas: tx.maxPriorityFeePerGas as bigint,
      value: 0n,
    })
    const l1Fee = await chain.client.readContract({
      address: OP_GAS_PRICE_ORACLE,
      abi: GPO,
      functionName: 'getL1Fee',
      args: [unsigned],
      blockNumber: receipt.blockNumber,
    })
    const revenue = BigInt(opReceipt.actualGasCost)
    const l2Cost = receipt.gasUsed * receipt.effectiveGasPrice
    expect(l1Fee).toBeGreaterThan(l2Cost / 10n) // the L1 fee matters here
    expect(revenue).toBeGreaterThanOrEqual(l2Cost + l1Fee)
  })

  it('an op whose PVG covers its calldata but not its L1 share is refused with -32602 naming the required value', async () => {
    const owner = newOwner()
    const { op } = await buildOp(chain, VERSION, { owner }) // PVG priced for calldata only
    const err = await send(op).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(JsonRpcError)
    expect((err as JsonRpcError).code).toBe(-32602)
    const m = /preVerificationGas (\d+) is below the required (\d+)/.exec((err as JsonRpcError).message)
    expect(m, (err as JsonRpcError).message).not.toBeNull()
    expect(BigInt(m?.[1] as string)).toBe(op.preVerificationGas)
    expect(BigInt(m?.[2] as string)).toBeGreaterThan(2n * op.preVerificationGas)
    expect((err as JsonRpcError).message).toContain('L1 data fee')
  })

  it('the L1 fee rising after admission: the op waits in the pool, and is bundled once covered again', async () => {
    const owner = newOwner()
    const { op: draft } = await buildOp(chain, VERSION, { owner, sign: false })
    const op = await estimated(draft, owner)
    const opHash = await send(op)
    const skippedBefore = await l1Skips()
    await setL1Values(chain, { ...L1, l1BaseFee: L1.l1BaseFee * 3n })
    const none = await bundleNow()
    expect(none).toMatchObject({ reason: 'no_ops' })
    // left out at bundle time for its L1 share, not dropped
    expect(await l1Skips()).toBeGreaterThan(skippedBefore)
    const pooled = await conveyor.dumpMempool(ep())
    expect(pooled.map((o) => o.sender?.toLowerCase())).toContain(op.sender.toLowerCase())
    // The fee falls back: the same op is bundled.
    await setL1Values(chain, L1)
    const txHash = await bundleNow()
    expect(typeof txHash).toBe('string')
    const r = await jsonRpc<{ success: boolean; receipt: { transactionHash: Hash } }>(
      conveyor.rpcUrl,
      'eth_getUserOperationReceipt',
      [opHash],
    )
    expect(r.success).toBe(true)
    expect(r.receipt.transactionHash).toBe(txHash)
  })

  it('the L1 fee rising after admission: the user replaces the op with a higher PVG and it is bundled', async () => {
    const owner = newOwner()
    const { op: draft } = await buildOp(chain, VERSION, { owner, sign: false })
    const first = await estimated(draft, owner)
    await send(first)
    await setL1Values(chain, { ...L1, l1BaseFee: L1.l1BaseFee * 3n })
    expect(typeof (await bundleNow())).toBe('object')
    // Re-estimated at the new fee, with the fees raised for a replacement.
    const raised = {
      ...draft,
      maxFeePerGas: (first.maxFeePerGas * 12n) / 10n,
      maxPriorityFeePerGas: (first.maxPriorityFeePerGas * 12n) / 10n,
    }
    const second = await estimated(raised, owner)
    expect(second.preVerificationGas).toBeGreaterThan(first.preVerificationGas)
    const hash = await send(second)
    const txHash = await bundleNow()
    expect(typeof txHash).toBe('string')
    const r = await jsonRpc<{ success: boolean }>(conveyor.rpcUrl, 'eth_getUserOperationReceipt', [hash])
    expect(r.success).toBe(true)
    await setL1Values(chain, L1)
  })
})
