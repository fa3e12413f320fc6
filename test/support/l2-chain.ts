import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import {
  type Address,
  concat,
  createWalletClient,
  encodeFunctionData,
  type Hex,
  http,
  numberToHex,
  pad,
  parseAbi,
  toHex,
} from 'viem'
import { ARBITRUM_NODE_INTERFACE, OP_GAS_PRICE_ORACLE } from '../../src/chain/chain-spec.js'
import type { L1FeeParams } from '../../src/chain/da/op-stack-math.js'
import type { TestChain } from '../harness/chain.js'
import { testArtifact } from './contracts.js'

export const L1_BLOCK: Address = '0x4200000000000000000000000000000000000015'
export const DEPOSITOR: Address = '0xdeaddeaddeaddeaddeaddeaddeaddeaddead0001'

const require = createRequire(import.meta.url)
function bedrockRuntime(name: string): Hex {
  const path = require.resolve(`@eth-optimism/contracts-bedrock/forge-artifacts/${name}.sol/${name}.json`)
  const art = JSON.parse(readFileSync(path, 'utf8')) as { deployedBytecode: { object: Hex } }
  return art.deployedBytecode.object
}

const rpc = (chain: TestChain, method: string, params: unknown[]) =>
  chain.client.request({ method: method as never, params: params as never })

/** A transaction from the depositor account, as the OP stack's system deposits come (impersonated). */
async function asDepositor(chain: TestChain, to: Address, data: Hex): Promise<void> {
  const wallet = createWalletClient({ transport: http(chain.url) })
  const hash = await wallet.sendTransaction({ account: DEPOSITOR, chain: null, to, data, gas: 500_000n })
  const r = await chain.client.waitForTransactionReceipt({ hash, pollingInterval: 50 })
  if (r.status !== 'success') throw new Error(`depositor call to ${to} reverted`)
}

/**
 * setL1BlockValuesEcotone's packed calldata: baseFeeScalar (uint32), blobBaseFeeScalar (uint32),
 * sequenceNumber (uint64), timestamp (uint64), number (uint64), basefee, blobBaseFee, hash, batcherHash.
 */
export function ecotoneCalldata(p: L1FeeParams, l1Number = 1n): Hex {
  const selector = encodeFunctionData({ abi: parseAbi(['function setL1BlockValuesEcotone()']) })
  return concat([
    selector,
    toHex(p.baseFeeScalar, { size: 4 }),
    toHex(p.blobBaseFeeScalar, { size: 4 }),
    toHex(0n, { size: 8 }),
    toHex(1_700_000_000n, { size: 8 }),
    toHex(l1Number, { size: 8 }),
    toHex(p.l1BaseFee, { size: 32 }),
    toHex(p.blobBaseFee, { size: 32 }),
    pad('0x01', { size: 32 }),
    pad('0x02', { size: 32 }),
  ])
}

let l1Number = 1n

/** New L1 block values, through the real setter called by the depositor. */
export async function setL1Values(chain: TestChain, p: L1FeeParams): Promise<void> {
  await asDepositor(chain, L1_BLOCK, ecotoneCalldata(p, ++l1Number))
}

/**
 * The OP stack's GasPriceOracle and L1Block, their real bytecode (@eth-optimism/contracts-bedrock)
 * at their predeploy addresses; L1 values set and Ecotone then Fjord switched on by the depositor.
 */
export async function installOpStackOracle(chain: TestChain, p: L1FeeParams, fjord = true): Promise<void> {
  await rpc(chain, 'anvil_setCode', [OP_GAS_PRICE_ORACLE, bedrockRuntime('GasPriceOracle')])
  await rpc(chain, 'anvil_setCode', [L1_BLOCK, bedrockRuntime('L1Block')])
  await rpc(chain, 'anvil_impersonateAccount', [DEPOSITOR])
  await rpc(chain, 'anvil_setBalance', [DEPOSITOR, numberToHex(10n ** 20n)])
  await setL1Values(chain, p)
  await asDepositor(
    chain,
    OP_GAS_PRICE_ORACLE,
    encodeFunctionData({ abi: GPO_SETTERS, functionName: 'setEcotone' }),
  )
  if (fjord) await enableFjord(chain)
}

const GPO_SETTERS = parseAbi(['function setEcotone()', 'function setFjord()'])

/** GasPriceOracle.setFjord() by the depositor (after Ecotone). */
export async function enableFjord(chain: TestChain): Promise<void> {
  await asDepositor(
    chain,
    OP_GAS_PRICE_ORACLE,
    encodeFunctionData({ abi: GPO_SETTERS, functionName: 'setFjord' }),
  )
}

/** The NodeInterface stand-in (contracts/src/ArbitrumNodeInterfaceFormula.sol) at 0x…C8. */
export async function installArbitrumNodeInterface(
  chain: TestChain,
  l1BaseFeeEstimate: bigint,
): Promise<void> {
  await rpc(chain, 'anvil_setCode', [
    ARBITRUM_NODE_INTERFACE,
    testArtifact('ArbitrumNodeInterfaceFormula').deployedBytecode,
  ])
  await setArbitrumL1BaseFee(chain, l1BaseFeeEstimate)
}

export async function setArbitrumL1BaseFee(chain: TestChain, l1BaseFeeEstimate: bigint): Promise<void> {
  await rpc(chain, 'anvil_setStorageAt', [
    ARBITRUM_NODE_INTERFACE,
    pad('0x00', { size: 32 }),
    toHex(l1BaseFeeEstimate, { size: 32 }),
  ])
}
