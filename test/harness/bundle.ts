import {
  type Address,
  type Hash,
  type Hex,
  numberToHex,
  type PrivateKeyAccount,
  parseEventLogs,
  type TransactionReceipt,
} from 'viem'
import { entryPointOfVersion } from '../../src/chain/entrypoint/registry.js'
import { type EntryPointVersion, entryPointAbi } from '../../src/chain/entrypoint.js'
import { bundleGasLimit } from '../../src/chain/gas.js'
import type { UserOperation } from '../../src/chain/userop.js'
import { currentFees, newOwner } from './account.js'
import type { TestChain } from './chain.js'

/** A UserOperationEvent as the EntryPoint logged it. */
export interface UserOpEvent {
  userOpHash: Hash
  sender: Address
  paymaster: Address
  nonce: bigint
  success: boolean
  actualGasCost: bigint
  actualGasUsed: bigint
}

export interface BundleOptions {
  /** Default: a fresh EOA, funded with anvil_setBalance (a given one only if it cannot pay). */
  bundler?: PrivateKeyAccount
  /** Default: the bundler's address. */
  beneficiary?: Address
  /** For `noMining` chains: call evm_mine while waiting for the receipt. */
  mine?: boolean
  /** Milliseconds to wait for the receipt (interval mining may take a block time). */
  timeoutMs?: number
  /** The paymasters' validation context, when known (see bundleGasFor). */
  paymasterContext?: Hex
}

export interface BundleResult {
  txHash: Hash
  /** A reverted bundle is returned as is (status 'reverted', no events): the caller asserts. */
  receipt: TransactionReceipt
  events: UserOpEvent[]
}

const BUNDLER_FUNDING = 10n ** 20n
const POLL_MS = 50

/** handleOps(ops, beneficiary) as handleOps calldata for the version's EntryPoint. */
export function handleOpsCallData(
  version: EntryPointVersion,
  ops: UserOperation[],
  beneficiary: Address,
): Hex {
  return entryPointOfVersion(version).encodeBundle([{ ops }], beneficiary)
}

/**
 * bundleGasLimit by the version's gas rules. `paymasterContext`: what the ops' paymasters return
 * from validation, when the caller knows it ('0x': no postOp); unknown means the worst case.
 */
export function bundleGasFor(
  version: EntryPointVersion,
  ops: UserOperation[],
  data: Hex,
  paymasterContext?: Hex,
): bigint {
  const ep = entryPointOfVersion(version)
  return bundleGasLimit(ops, data, (op) => ep.gas.executionGas(op, paymasterContext))
}

/**
 * Puts `ops` in one handleOps transaction signed by a separate bundler EOA, sends it raw, waits for
 * the receipt and decodes the EntryPoint's UserOperationEvents.
 */
export async function bundleOps(
  chain: TestChain,
  version: EntryPointVersion,
  ops: UserOperation[],
  opts: BundleOptions = {},
): Promise<BundleResult> {
  const bundler = opts.bundler ?? newOwner()
  const entryPoint = chain.deployment.entryPoints[version]
  const data = handleOpsCallData(version, ops, opts.beneficiary ?? bundler.address)
  const gas = bundleGasFor(version, ops, data, opts.paymasterContext)
  const fees = await currentFees(chain)
  // A caller's bundler keeps its balance (tests watch it) unless it could not pay for this bundle.
  if (
    !opts.bundler ||
    (await chain.client.getBalance({ address: bundler.address })) < gas * fees.maxFeePerGas
  ) {
    await chain.client.request({
      method: 'anvil_setBalance' as never,
      params: [bundler.address, numberToHex(BUNDLER_FUNDING)] as never,
    })
  }
  const nonce = await chain.client.getTransactionCount({ address: bundler.address, blockTag: 'pending' })
  const raw = await bundler.signTransaction({
    type: 'eip1559',
    chainId: chain.chainId,
    nonce,
    to: entryPoint,
    data,
    gas,
    maxFeePerGas: fees.maxFeePerGas,
    maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
  })
  const txHash = (await chain.client.request({
    method: 'eth_sendRawTransaction',
    params: [raw],
  })) as Hash
  const receipt = await waitForReceipt(chain, txHash, opts.mine ?? false, opts.timeoutMs ?? 30_000)
  const logs = parseEventLogs({
    abi: entryPointAbi(version),
    eventName: 'UserOperationEvent',
    logs: receipt.logs.filter((l) => l.address.toLowerCase() === entryPoint.toLowerCase()),
  })
  const events = logs.map((l) => {
    const a = l.args as unknown as UserOpEvent
    return {
      userOpHash: a.userOpHash,
      sender: a.sender,
      paymaster: a.paymaster,
      nonce: a.nonce,
      success: a.success,
      actualGasCost: a.actualGasCost,
      actualGasUsed: a.actualGasUsed,
    }
  })
  return { txHash, receipt, events }
}

/** Polls rather than subscribing, so automine, interval mining and on-demand mining all work. */
async function waitForReceipt(
  chain: TestChain,
  hash: Hash,
  mine: boolean,
  timeoutMs: number,
): Promise<TransactionReceipt> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (mine) await chain.client.request({ method: 'evm_mine' as never, params: [] as never })
    const receipt = await chain.client.getTransactionReceipt({ hash }).catch(() => undefined)
    if (receipt) return receipt
    await new Promise((r) => setTimeout(r, POLL_MS))
  }
  throw new Error(`bundle ${hash} not mined within ${timeoutMs} ms`)
}
