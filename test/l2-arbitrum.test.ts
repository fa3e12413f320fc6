import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Address, Hash, Hex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ARBITRUM_NODE_INTERFACE } from '../src/chain/chain-spec.js'
import { resolveChainSpec } from '../src/chain/chain-spec-file.js'
import { NODE_INTERFACE_ABI } from '../src/chain/da/oracle.js'
import type { UserOperation } from '../src/chain/userop.js'
import { encodeUserOp } from '../src/rpc/encode.js'
import { buildOp, newOwner, signUserOp } from './harness/account.js'
import { startTestChain, type TestChain } from './harness/chain.js'
import { JsonRpcError, jsonRpc } from './support/bundler-load.js'
import { type ConveyorApp, startConveyorApp } from './support/conveyor-app.js'
import { installArbitrumNodeInterface } from './support/l2-chain.js'

// Arbitrum Nitro's NodeInterface is a virtual contract the Nitro node serves itself: it cannot run on
// anvil. A contract implementing gasEstimateL1Component with Arbitrum's published formula
// (contracts/src/ArbitrumNodeInterfaceFormula.sol) stands at its address instead.
const VERSION = 'v0.7' as const
const L1_BASE_FEE_ESTIMATE = 10n * 10n ** 9n

let chain: TestChain
let conveyor: ConveyorApp
const ep = (): Address => chain.deployment.entryPoints[VERSION]

beforeAll(async () => {
  chain = await startTestChain()
  await installArbitrumNodeInterface(chain, L1_BASE_FEE_ESTIMATE)
  const file = join(mkdtempSync(join(tmpdir(), 'conveyor-arb-')), 'arb-dev.json')
  writeFileSync(
    file,
    JSON.stringify({
      base: 'dev',
      da_pre_verification_gas: true,
      da_gas_oracle_type: 'ARBITRUM_NITRO',
      da_gas_oracle_contract_address: ARBITRUM_NODE_INTERFACE,
      include_da_gas_in_gas_limit: true,
      priority_fee_oracle_type: 'NONE',
      eip7623_enabled: false,
    }),
  )
  const spec = resolveChainSpec({ file }, chain.chainId)
  conveyor = await startConveyorApp(chain, [], { chainSpec: spec })
}, 60_000)

afterAll(async () => {
  await conveyor?.stop()
  await chain?.stop()
})

const send = (op: UserOperation) =>
  jsonRpc<Hash>(conveyor.rpcUrl, 'eth_sendUserOperation', [encodeUserOp(op), ep()])

describe('Arbitrum L1 component on anvil (NodeInterface stand-in)', () => {
  it('estimate → admitted → mined: the bundle gas limit carries the L1 component, and the ops pay for it', async () => {
    const owner = newOwner()
    const { op: draft } = await buildOp(chain, VERSION, { owner, sign: false })
    const {
      callGasLimit: _c,
      verificationGasLimit: _v,
      preVerificationGas: _p,
      ...wire
    } = encodeUserOp(draft) as unknown as Record<string, Hex>
    const est = await jsonRpc<Record<string, Hex>>(conveyor.rpcUrl, 'eth_estimateUserOperationGas', [
      wire,
      ep(),
    ])
    let op: UserOperation = {
      ...draft,
      callGasLimit: BigInt(est.callGasLimit as Hex),
      verificationGasLimit: BigInt(est.verificationGasLimit as Hex),
      preVerificationGas: BigInt(est.preVerificationGas as Hex),
    }
    op = { ...op, signature: await signUserOp(chain, VERSION, op, owner) }
    const opHash = await send(op)
    const txHash = await jsonRpc<Hash>(conveyor.rpcUrl, 'debug_bundler_sendBundleNow')
    expect(typeof txHash).toBe('string')
    const receipt = await chain.client.waitForTransactionReceipt({ hash: txHash, pollingInterval: 50 })
    expect(receipt.status).toBe('success')
    const tx = await chain.client.getTransaction({ hash: txHash })
    const [gasForL1, baseFee] = (
      await chain.client.simulateContract({
        address: ARBITRUM_NODE_INTERFACE,
        abi: NODE_INTERFACE_ABI,
        functionName: 'gasEstimateL1Component',
        args: [ep(), false, tx.input],
        blockNumber: receipt.blockNumber,
      })
    ).result
    expect(gasForL1).toBeGreaterThan(50_000n) // the L1 component matters here
    // On Arbitrum the L1 component is charged through the gas: the limit must hold it on top of execution.
    expect(tx.gas).toBeGreaterThanOrEqual(receipt.gasUsed + gasForL1)
    const opReceipt = await jsonRpc<{ success: boolean; actualGasCost: Hex }>(
      conveyor.rpcUrl,
      'eth_getUserOperationReceipt',
      [opHash],
    )
    expect(opReceipt.success).toBe(true)
    expect(BigInt(opReceipt.actualGasCost)).toBeGreaterThanOrEqual(
      receipt.gasUsed * receipt.effectiveGasPrice + gasForL1 * baseFee,
    )
  })

  it('an op whose PVG covers calldata only is refused with -32602 naming preVerificationGas', async () => {
    const { op } = await buildOp(chain, VERSION, { owner: newOwner() })
    const err = await send(op).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(JsonRpcError)
    expect((err as JsonRpcError).code).toBe(-32602)
    expect((err as JsonRpcError).message).toMatch(/preVerificationGas \d+ is below the required \d+/)
  })
})
