/**
 * Load helpers for tests and benchmarks that drive a real Conveyor process: plain JSON-RPC, many
 * signed SimpleAccount ops from fresh owners, sending them with bounded concurrency, and reading
 * back from the chain which bundle carried which op and which key sent which transaction.
 */

import { request } from 'undici'
import {
  type Address,
  createPublicClient,
  decodeEventLog,
  defineChain,
  encodeFunctionData,
  type Hash,
  type Hex,
  http,
  numberToHex,
  type PrivateKeyAccount,
  type PublicClient,
  toEventSelector,
} from 'viem'
import { chainSpecFor } from '../../src/chain/chain-spec.js'
import { type EntryPointVersion, entryPointArtifact } from '../../src/chain/entrypoint.js'
import { requiredPreVerificationGas } from '../../src/chain/gas.js'
import {
  type PackedUserOperation,
  type UserOperation,
  unpackUserOp,
  userOpHash,
} from '../../src/chain/userop.js'
import type { Deployment } from '../../src/dev/deploy.js'
import { opsInCalldata, USER_OPERATION_EVENT } from '../../src/rpc/bundle-decode.js'
import { encodeUserOp } from '../../src/rpc/encode.js'
import { mapLimit } from '../../src/util/concurrency.js'
import {
  buildOp,
  currentFees,
  DUMMY_SIGNATURE,
  executeCallData,
  newOwner,
  SENDER_FUNDING,
  signOpHash,
  simpleAccountAddress,
} from '../harness/account.js'
import type { TestChain } from '../harness/chain.js'
import type { Run } from './conveyor-process.js'
import { fastOwner } from './fast-owner.js'

export class JsonRpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly method: string,
  ) {
    super(`${method}: ${message} (${code})`)
  }
}

let nextId = 1

/**
 * One JSON-RPC call (undici's request: the load generator sends one per op, and fetch's web streams
 * cost it several times the CPU); an error answer throws JsonRpcError with the server's code.
 */
export async function jsonRpc<T>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params }),
    signal: AbortSignal.timeout(30_000),
  })
  const body = (await res.body.json()) as { result?: T; error?: { code: number; message: string } }
  if (body.error) throw new JsonRpcError(body.error.code, body.error.message, method)
  return body.result as T
}

/** eth_sendUserOperation with the op hex-encoded as the RPC expects; returns the userOpHash. */
export function sendUserOperation(rpcUrl: string, op: UserOperation, entryPoint: Address): Promise<Hash> {
  return jsonRpc<Hash>(rpcUrl, 'eth_sendUserOperation', [encodeUserOp(op), entryPoint])
}

/**
 * A TestChain over a node someone else started (e.g. `conveyor dev`'s embedded anvil), so the
 * harness's op builders work on it. Stopping it is the owner's business, not ours.
 */
export function chainAt(url: string, chainId: number, deployment: Deployment): TestChain {
  const chain = defineChain({
    id: chainId,
    name: 'conveyor-chain',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [url] } },
  })
  const client = createPublicClient({ chain, transport: http(url), pollingInterval: 50 }) as PublicClient
  const port = Number(new URL(url).port)
  const noop = async () => {}
  return { node: { url, port, chainId, stop: noop }, url, chainId, deployment, client, stop: noop }
}

export interface BuiltOp {
  op: UserOperation
  hash: Hash
  sender: Address
}

/** `n` signed first ops (factory deploys the account) of fresh owners' SimpleAccounts, funded. */
export function buildFreshOps(
  chain: TestChain,
  version: EntryPointVersion,
  n: number,
  concurrency = 16,
): Promise<(BuiltOp & { owner: PrivateKeyAccount })[]> {
  return mapLimit(
    Array.from({ length: n }, (_, i) => i),
    concurrency,
    async () => {
      const owner = fastOwner()
      return { ...(await buildOp(chain, version, { owner })), owner }
    },
  )
}

/** Sends every op; an answer that is not the op's own hash fails the whole send. */
export async function sendOps(
  rpcUrl: string,
  entryPoint: Address,
  ops: BuiltOp[],
  concurrency = 16,
): Promise<Hash[]> {
  return mapLimit(ops, concurrency, async (b) => {
    const hash = await sendUserOperation(rpcUrl, b.op, entryPoint)
    if (hash.toLowerCase() !== b.hash.toLowerCase())
      throw new Error(`bundler answered ${hash} for op ${b.hash}`)
    return hash
  })
}

export interface OpInclusion {
  txHash: Hash
  blockNumber: bigint
  success: boolean
}

const USER_OP_TOPIC = toEventSelector(USER_OPERATION_EVENT)

/** Every UserOperationEvent the EntryPoint logged in the block range, grouped by userOpHash. */
export async function userOpEvents(
  client: PublicClient,
  entryPoint: Address,
  fromBlock: bigint,
  toBlock: bigint,
): Promise<Map<Hash, OpInclusion[]>> {
  const logs = await client.request({
    method: 'eth_getLogs',
    params: [
      {
        address: entryPoint,
        topics: [USER_OP_TOPIC],
        fromBlock: `0x${fromBlock.toString(16)}`,
        toBlock: `0x${toBlock.toString(16)}`,
      },
    ],
  })
  const out = new Map<Hash, OpInclusion[]>()
  for (const log of logs) {
    const ev = decodeEventLog({ abi: [USER_OPERATION_EVENT], data: log.data, topics: log.topics as never })
    const hash = ev.args.userOpHash.toLowerCase() as Hash
    const list = out.get(hash) ?? []
    list.push({
      txHash: log.transactionHash!,
      blockNumber: BigInt(log.blockNumber!),
      success: ev.args.success,
    })
    out.set(hash, list)
  }
  return out
}

export interface ChainTx {
  hash: Hash
  from: Address
  to: Address | null
  nonce: number
  blockNumber: bigint
  input: Hex
}

/** The mined transactions sent by any of `from` in the block range, in chain order. */
export async function minedTxsFrom(
  client: PublicClient,
  from: Address[],
  fromBlock: bigint,
  toBlock: bigint,
): Promise<ChainTx[]> {
  const wanted = new Set(from.map((a) => a.toLowerCase()))
  const out: ChainTx[] = []
  for (let n = fromBlock; n <= toBlock; n++) {
    const block = await client.getBlock({ blockNumber: n, includeTransactions: true })
    for (const tx of block.transactions) {
      if (!wanted.has(tx.from.toLowerCase())) continue
      out.push({ hash: tx.hash, from: tx.from, to: tx.to, nonce: tx.nonce, blockNumber: n, input: tx.input })
    }
  }
  return out
}

/** The userOpHashes (lower case) a handleOps calldata carries, or [] if it is not a bundle. */
export function opHashesInBundle(
  data: Hex,
  entryPoint: Address,
  chainId: number,
  version: EntryPointVersion,
): Hash[] {
  const ops: PackedUserOperation[] = opsInCalldata(data) ?? []
  return ops.map((p) => userOpHash(unpackUserOp(p), entryPoint, chainId, version).toLowerCase() as Hash)
}

/** A node's txpool_content pending transactions from `from`, by nonce. */
export async function pendingTxsFrom(
  nodeUrl: string,
  from: Address,
): Promise<Map<number, { hash: Hash; input: Hex }>> {
  const content = await jsonRpc<{ pending?: Record<string, Record<string, { hash: Hash; input: Hex }>> }>(
    nodeUrl,
    'txpool_content',
  )
  const out = new Map<number, { hash: Hash; input: Hex }>()
  for (const [address, byNonce] of Object.entries(content.pending ?? {})) {
    if (address.toLowerCase() !== from.toLowerCase()) continue
    for (const [nonce, tx] of Object.entries(byNonce)) out.set(Number(nonce), tx)
  }
  return out
}

/** Stops a Conveyor process: SIGINT and a bounded wait, then SIGKILL. Safe if it already exited. */
export async function stopConveyor(run: Run | undefined, timeoutMs = 15_000): Promise<void> {
  if (!run || run.child.exitCode !== null || run.child.signalCode !== null) return
  run.child.kill('SIGINT')
  await run.exited(timeoutMs).catch(async () => {
    run.child.kill('SIGKILL')
    await run.exited(5_000).catch(() => undefined)
  })
}

/**
 * `n` SimpleAccounts deployed straight through the v0.7 factory (anyone may call createAccount
 * there) by one funded EOA, each account funded for its prefunds: a quick warm-up for load runs
 * that should not spend their time or pool on first ops.
 */
export async function deployAccounts(chain: TestChain, n: number, concurrency = 16): Promise<LoadAccount[]> {
  const factory = chain.deployment.factories['v0.7']
  const abi = entryPointArtifact('v0.7', 'SimpleAccountFactory').abi
  const deployer = newOwner()
  await chain.client.request({
    method: 'anvil_setBalance' as never,
    params: [deployer.address, numberToHex(10n ** 21n)] as never,
  })
  const fees = await currentFees(chain)
  const start = await chain.client.getTransactionCount({ address: deployer.address, blockTag: 'pending' })
  const owners = Array.from({ length: n }, () => fastOwner())
  const hashes = await mapLimit(owners, concurrency, async (owner, i) => {
    const raw = await deployer.signTransaction({
      type: 'eip1559',
      chainId: chain.chainId,
      nonce: start + i,
      to: factory,
      data: encodeFunctionData({ abi, functionName: 'createAccount', args: [owner.address, 0n] }),
      gas: 500_000n,
      ...fees,
    })
    return chain.client.request({ method: 'eth_sendRawTransaction', params: [raw] })
  })
  const accounts = await mapLimit(owners, concurrency, async (owner, i) => {
    const receipt = await chain.client.waitForTransactionReceipt({
      hash: hashes[i] as Hash,
      pollingInterval: 100,
      timeout: 60_000,
    })
    if (receipt.status !== 'success') throw new Error(`createAccount for ${owner.address} reverted`)
    const sender = await simpleAccountAddress(chain, 'v0.7', owner.address)
    await chain.client.request({
      method: 'anvil_setBalance' as never,
      params: [sender, numberToHex(SENDER_FUNDING)] as never,
    })
    return { owner, sender, nonce: 0n }
  })
  return accounts
}

/** The p-th percentile (0–100) of `values` by nearest rank; NaN when empty. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)))
  return sorted[rank - 1] as number
}

/** A deployed SimpleAccount the load generator drives: one op in flight, nonces counted locally. */
export interface LoadAccount {
  owner: PrivateKeyAccount
  sender: Address
  nonce: bigint
}

export interface OpGas {
  verificationGasLimit: bigint
  callGasLimit: bigint
}

/**
 * The account's next op (a zero-value call to its owner), signed, without a round trip to the node:
 * nonce from the local count, gas and fees as given, preVerificationGas as the bundler requires.
 */
export async function nextOp(
  chain: TestChain,
  version: EntryPointVersion,
  account: LoadAccount,
  gas: OpGas,
  fees: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint },
): Promise<BuiltOp> {
  const op: UserOperation = {
    sender: account.sender,
    nonce: account.nonce,
    callData: executeCallData(version, account.owner.address, 0n, '0x'),
    ...gas,
    preVerificationGas: 0n,
    ...fees,
    signature: DUMMY_SIGNATURE,
  }
  return finishLoadOp(chain, version, op, account.owner)
}

/** Prices preVerificationGas as the bundler requires, then signs (unless told not to) and hashes. */
export async function finishLoadOp(
  chain: TestChain,
  version: EntryPointVersion,
  draft: UserOperation,
  owner: PrivateKeyAccount,
  sign = true,
): Promise<BuiltOp> {
  const priced = { ...draft, signature: `0x${'ff'.repeat(65)}` as const }
  const op = { ...draft, preVerificationGas: requiredPreVerificationGas(priced, chainSpecFor(chain.chainId)) }
  // The hash does not cover the signature: hashed once, signed as the version's SimpleAccount checks.
  const hash = userOpHash(op, chain.deployment.entryPoints[version], chain.chainId, version)
  if (sign) op.signature = await signOpHash(version, hash, owner)
  return { op, hash, sender: op.sender }
}

export interface OpReceiptSeen {
  /** performance.now() when the receipt was first seen. */
  at: number
  txHash: Hash
  success: boolean
}

/**
 * Watches many userOpHashes for their eth_getUserOperationReceipt with batched polls (100 per
 * request), so a load generator with hundreds of ops in flight does not flood the bundler.
 */
export class ReceiptWatcher {
  private readonly waiting = new Map<Hash, (r: OpReceiptSeen) => void>()
  private timer?: NodeJS.Timeout
  private polling = false

  constructor(
    private readonly rpcUrl: string,
    private readonly intervalMs = 50,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.poll(), this.intervalMs)
  }

  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  get inFlight(): number {
    return this.waiting.size
  }

  wait(hash: Hash): Promise<OpReceiptSeen> {
    return new Promise((resolve) => this.waiting.set(hash, resolve))
  }

  private async poll(): Promise<void> {
    if (this.polling || this.waiting.size === 0) return
    this.polling = true
    try {
      const hashes = [...this.waiting.keys()]
      const chunks: Hash[][] = []
      for (let i = 0; i < hashes.length; i += 100) chunks.push(hashes.slice(i, i + 100))
      await Promise.all(chunks.map((c) => this.pollChunk(c)))
    } catch {
      // a failed poll is retried on the next tick
    } finally {
      this.polling = false
    }
  }

  private async pollChunk(hashes: Hash[]): Promise<void> {
    const body = hashes.map((h, i) => ({
      jsonrpc: '2.0',
      id: i,
      method: 'eth_getUserOperationReceipt',
      params: [h],
    }))
    const res = await fetch(this.rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    })
    const at = performance.now()
    const answers = (await res.json()) as {
      id: number
      result?: { success: boolean; receipt: { transactionHash: Hash } } | null
    }[]
    for (const a of answers) {
      const hash = hashes[a.id]
      if (!hash || !a.result) continue
      const resolve = this.waiting.get(hash)
      this.waiting.delete(hash)
      resolve?.({ at, txHash: a.result.receipt.transactionHash, success: a.result.success })
    }
  }
}
