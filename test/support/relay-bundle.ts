import { Writable } from 'node:stream'
import { pino } from 'pino'
import { type Hash, type Hex, keccak256, numberToHex, parseEventLogs, type TransactionReceipt } from 'viem'
import { generatePrivateKey } from 'viem/accounts'
import { privateKeySigners } from '../../src/builder/signer/local.js'
import type { Signer } from '../../src/builder/signer/types.js'
import { type EntryPointVersion, entryPointAbi } from '../../src/chain/entrypoint.js'
import { bundleGasLimit } from '../../src/chain/gas.js'
import type { UserOperation } from '../../src/chain/userop.js'
import { REDACT_PATHS } from '../../src/util/log.js'
import { currentFees } from '../harness/account.js'
import { handleOpsCallData } from '../harness/bundle.js'
import type { TestChain } from '../harness/chain.js'

/** What the sender tests submit: a signed handleOps bundle from a funded local signer. */
export interface SignedBundle {
  raw: Hex
  hash: Hash
  nonce: bigint
  fees: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }
}

/** A funded local key signer (the project's own Signer), returning the key so tests can look for it in logs. */
export async function fundedSigner(chain: TestChain): Promise<Signer> {
  const [signer] = privateKeySigners([generatePrivateKey()], { chainId: chain.chainId, eip7702: false })
  if (!signer) throw new Error('no signer')
  await chain.client.request({
    method: 'anvil_setBalance' as never,
    params: [signer.address, numberToHex(10n ** 20n)] as never,
  })
  return signer
}

export async function signBundle(
  chain: TestChain,
  version: EntryPointVersion,
  ops: UserOperation[],
  signer: Signer,
  opts: { nonce?: bigint } = {},
): Promise<SignedBundle> {
  const data = handleOpsCallData(version, ops, signer.address)
  const fees = await currentFees(chain)
  const nonce =
    opts.nonce ??
    BigInt(await chain.client.getTransactionCount({ address: signer.address, blockTag: 'pending' }))
  const raw = await signer.signTransaction({
    type: 'eip1559',
    chainId: chain.chainId,
    nonce: Number(nonce),
    to: chain.deployment.entryPoints[version],
    data,
    gas: bundleGasLimit(ops, data),
    ...fees,
  })
  return { raw, hash: keccak256(raw), nonce, fees }
}

/** Mines one block (the test chains mine on demand) and returns the receipt, if the tx is in it or earlier. */
export async function mineAndGetReceipt(
  chain: TestChain,
  hash: Hash,
): Promise<TransactionReceipt | undefined> {
  await chain.client.request({ method: 'evm_mine' as never, params: [] as never })
  return chain.client.getTransactionReceipt({ hash }).catch(() => undefined)
}

/** userOpHash → success, from the EntryPoint's UserOperationEvents in a receipt. */
export function opOutcomes(
  chain: TestChain,
  version: EntryPointVersion,
  receipt: TransactionReceipt,
): Map<Hash, boolean> {
  const entryPoint = chain.deployment.entryPoints[version].toLowerCase()
  const logs = parseEventLogs({
    abi: entryPointAbi(version),
    eventName: 'UserOperationEvent',
    logs: receipt.logs.filter((l) => l.address.toLowerCase() === entryPoint),
  })
  return new Map(
    logs.map((l) => [(l.args as { userOpHash: Hash }).userOpHash, (l.args as { success: boolean }).success]),
  )
}

/** A pino logger with the project's redaction whose lines the test can read. */
export function capturedLogger(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = []
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean))
      done()
    },
  })
  const logger = pino({ level: 'debug', redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, sink)
  return { logger, lines }
}
