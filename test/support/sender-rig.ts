import { Writable } from 'node:stream'
import { pino } from 'pino'
import {
  type Address,
  type Hash,
  type Hex,
  numberToHex,
  type PrivateKeyAccount,
  type PublicClient,
  parseEventLogs,
  type TransactionReceipt,
} from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import type { BundleResult } from '../../src/builder/machine/types.js'
import {
  BundleProposer,
  DEFAULT_PROPOSER_SETTINGS,
  type ProposerSettings,
} from '../../src/builder/proposer.js'
import { BundleSender, type BundleSenderSettings } from '../../src/builder/sender.js'
import { createSignerManager } from '../../src/builder/signer/create.js'
import type { SignerManager } from '../../src/builder/signer/types.js'
import { RawTransactionSender } from '../../src/builder/submit/raw.js'
import type { TransactionSender } from '../../src/builder/submit/types.js'
import { chainSpecFor } from '../../src/chain/chain-spec.js'
import { type EntryPointVersion, entryPointAbi } from '../../src/chain/entrypoint.js'
import { FeeEstimator } from '../../src/chain/fees.js'
import { requiredPreVerificationGas } from '../../src/chain/gas.js'
import { LocalPool } from '../../src/pool/pool.js'
import { defaultSimSettings } from '../../src/sim/settings.js'
import { Simulator } from '../../src/sim/simulator.js'
import { buildOp, newOwner, signUserOp } from '../harness/account.js'
import { startTestChain, type TestChain } from '../harness/chain.js'
import { type FaultProxy, startFaultProxy } from './fault-proxy.js'
import { HeadGate } from './head-gate.js'
import { lagPendingTransactions, startRpcTap } from './rpc-tap.js'
import { waitFor } from './wait.js'

export const GWEI = 10n ** 9n
const BURNER: Address = '0x000000000000000000000000000000000000b0b0'

/** One structured log line of the sender (pino JSON). */
export interface LogLine {
  msg: string
  level: number
  [k: string]: unknown
}

/** A transaction of the signer waiting in anvil's mempool (txpool_content). */
export interface PoolTx {
  hash: Hash
  nonce: bigint
  maxFeePerGas: bigint
  maxPriorityFeePerGas: bigint
  to: Address
}

export interface SenderRigOptions {
  settings?: Partial<BundleSenderSettings>
  proposer?: Partial<ProposerSettings>
  /** Wraps the raw sender (to the fault proxy) the sender submits through. */
  wrapSubmitter?: (raw: TransactionSender) => TransactionSender
  /**
   * 'lagging': the sender's status node (its `client`) has not seen pending transactions (a tap
   * in front of anvil, see lagPendingTransactions); submission still goes to anvil itself.
   */
  statusNode?: 'lagging'
}

/**
 * One BundleSender driving a real LocalPool + Simulator + BundleProposer over an anvil that mines
 * only when the test says so (`evm_mine`). Submission goes through a fault proxy in front of anvil,
 * so a test can take the submit endpoint away. Every sender log line is kept for assertions.
 */
export interface SenderRig {
  chain: TestChain
  pool: LocalPool
  sender: BundleSender
  /** The node the sender reads status from (anvil, or a lagging tap in front of it). */
  statusClient: PublicClient
  /** The signer's key as a viem account: tests sign competing transactions with it. */
  signer: PrivateKeyAccount
  submitProxy: FaultProxy
  /** Between the pool and the sender: heads above `limit` wait until it is raised (a lagging pool). */
  heads: HeadGate
  logs: LogLine[]
  rpc<T = unknown>(method: string, params?: unknown[]): Promise<T>
  /** Mines one block, optionally forcing its base fee; returns its number. */
  mine(opts?: { baseFee?: bigint }): Promise<bigint>
  /**
   * Mines one block that a higher-tipping transaction fills to the brim (a congested chain): the
   * signer's pending bundle stays pending in the node, unmined.
   */
  mineFull(): Promise<bigint>
  /** A SimpleAccount op (deploying its account) admitted to the pool; fees default to generous ones. */
  addOp(
    version?: EntryPointVersion,
    fees?: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint },
  ): Promise<Hash>
  /** sendBundleNow, failing the test instead of hanging if it never answers. */
  sendBundleNowBounded(timeoutMs?: number): Promise<BundleResult>
  /** The signer's transactions waiting in anvil's mempool. */
  pendingTxs(): Promise<PoolTx[]>
  /**
   * Waits (bounded) for a pending signer transaction matching `pred` that the sender has taken as its
   * transaction in flight (so the next block is judged against it).
   */
  waitPending(pred: (tx: PoolTx) => boolean, what: string): Promise<PoolTx>
  /** Waits (bounded) for a log line with this message (and matching `pred`). */
  waitLog(msg: string, pred?: (l: LogLine) => boolean): Promise<LogLine>
  /** Log lines with this message. */
  logsOf(msg: string): LogLine[]
  /**
   * Mines blocks until the pool reports every op mined (at most `maxBlocks`); before each block it
   * waits briefly for the signer to have something pending, so blocks are not mined in vain.
   */
  mineUntilMined(opHashes: Hash[], maxBlocks?: number): Promise<void>
  /** The chain receipt of the tx that carried `opHash`, with its UserOperationEvent. */
  opReceipt(
    version: EntryPointVersion,
    opHash: Hash,
  ): Promise<{ receipt: TransactionReceipt; success: boolean; nonce: bigint }>
  stop(): Promise<void>
}

const DEFAULT_SETTINGS: BundleSenderSettings = {
  maxBlocksToWaitForMine: 2,
  replacementFeePercentIncrease: 10,
  maxCancellationFeeIncreases: 15,
  maxReplacementUnderpricedBlocks: 3,
  dropGraceBlocks: 1,
  // Long: heads drive auto mode in these tests unless a test wants the timer.
  bundleMaxSendIntervalMillis: 600_000,
  mode: 'auto',
}

/** Generous op fees: they pay any base fee and bundle tip these tests produce. */
export const OP_FEES = { maxFeePerGas: 100n * GWEI, maxPriorityFeePerGas: 5n * GWEI }

export async function startSenderRig(opts: SenderRigOptions = {}): Promise<SenderRig> {
  const chain = await startTestChain({ noMining: true })
  const stops: (() => Promise<void>)[] = [() => chain.stop()]
  const stopAll = async () => {
    for (const s of stops.splice(0).reverse()) await s().catch(() => undefined)
  }
  try {
    return await assemble(chain, opts, stops, stopAll)
  } catch (err) {
    await stopAll()
    throw err
  }
}

async function assemble(
  chain: TestChain,
  opts: SenderRigOptions,
  stops: (() => Promise<void>)[],
  stopAll: () => Promise<void>,
): Promise<SenderRig> {
  const rpc = <T = unknown>(method: string, params: unknown[] = []) =>
    chain.client.request({ method: method as never, params: params as never }) as Promise<T>
  const chainSpec = chainSpecFor(chain.chainId)
  const simulator = new Simulator({ client: chain.client, settings: defaultSimSettings(chainSpec) })
  const entryPoints = Object.values(chain.deployment.entryPoints)
  const pool = new LocalPool({
    settings: { chainId: chain.chainId, blockPollIntervalMs: 50 },
    client: chain.client,
    validator: simulator,
    entryPoints,
  })
  await pool.start()
  stops.push(() => pool.stop())
  const proposer = new BundleProposer({
    pool,
    validator: simulator,
    fees: new FeeEstimator({ client: chain.client, chainSpec }),
    client: chain.client,
    chainSpec,
    settings: { ...DEFAULT_PROPOSER_SETTINGS, ...opts.proposer },
  })

  const key: Hex = generatePrivateKey()
  const signer = privateKeyToAccount(key)
  await rpc('anvil_setBalance', [signer.address, numberToHex(10n ** 21n)])
  const signers: SignerManager = await createSignerManager({
    privateKeys: [key],
    numSigners: 1,
    chainId: chain.chainId,
    // The rig serves v0.8+ too, as startBuilder does: ops with authorizations go out as type 4.
    eip7702: true,
    redisLockTtlMillis: 60_000,
    leaseWaitMillis: 1_000,
    enableLeasing: false,
  })
  stops.push(() => signers.close())
  const submitProxy = await startFaultProxy(chain.url)
  stops.push(() => submitProxy.close())
  let statusClient = chain.client
  if (opts.statusNode === 'lagging') {
    const tap = await startRpcTap(chain.url)
    stops.push(() => tap.close())
    lagPendingTransactions(tap, chain.url)
    statusClient = tap.client
  }

  const logs: LogLine[] = []
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line.trim()) logs.push(JSON.parse(line) as LogLine)
      done()
    },
  })
  const logger = pino({ level: 'debug' }, sink)
  const heads = new HeadGate()
  const sender = new BundleSender({
    index: 0,
    chainId: chain.chainId,
    entryPoints,
    proposer,
    pool: heads.gated(pool),
    signers,
    submitter: (opts.wrapSubmitter ?? ((r) => r))(
      new RawTransactionSender({ submitUrl: submitProxy.url, chainId: chain.chainId, timeoutMs: 5_000 }),
    ),
    client: statusClient,
    settings: { ...DEFAULT_SETTINGS, ...opts.settings },
    logger,
  })
  sender.start()
  stops.push(() => sender.stop())
  stops.push(async () => heads.setLimit(undefined)) // first: a held head would keep the sender from stopping
  // Started: the lease is held and the first nonce read is answered.
  await waitFor(() => logs.some((l) => l.msg === 'nonce synced'), 'the sender to read its nonce')

  const pendingTxs = async (): Promise<PoolTx[]> => {
    const content = await rpc<{ pending?: Record<string, Record<string, Record<string, string>>> }>(
      'txpool_content',
    )
    const mine = Object.entries(content.pending ?? {}).find(
      ([a]) => a.toLowerCase() === signer.address.toLowerCase(),
    )?.[1]
    return Object.values(mine ?? {}).map((t) => ({
      hash: t.hash as Hash,
      nonce: BigInt(t.nonce as string),
      maxFeePerGas: BigInt(t.maxFeePerGas as string),
      maxPriorityFeePerGas: BigInt(t.maxPriorityFeePerGas as string),
      to: t.to as Address,
    }))
  }
  const mine = async (o: { baseFee?: bigint } = {}) => {
    if (o.baseFee !== undefined) await rpc('anvil_setNextBlockBaseFeePerGas', [numberToHex(o.baseFee)])
    await rpc('evm_mine')
    return chain.client.getBlockNumber({ cacheTime: 0 })
  }
  // Congestion: an account whose transactions burn a whole block's gas in an endless loop, tipping high.
  const filler = privateKeyToAccount(generatePrivateKey())
  await rpc('anvil_setBalance', [filler.address, numberToHex(10n ** 21n)])
  await rpc('anvil_setCode', [BURNER, '0x5b600056']) // JUMPDEST PUSH1 0 JUMP
  let fillerNonce = 0
  const mineFull = async () => {
    const block = await chain.client.getBlock({ blockTag: 'latest' })
    const raw = await filler.signTransaction({
      type: 'eip1559',
      chainId: chain.chainId,
      nonce: fillerNonce++,
      to: BURNER,
      gas: block.gasLimit - 21_000n, // less than any bundle is left
      maxFeePerGas: 1_000n * GWEI,
      maxPriorityFeePerGas: 2n * GWEI, // above a fresh bundle's tip, below what the ops pay
    })
    await rpc('eth_sendRawTransaction', [raw])
    return mine()
  }
  const logsOf = (msg: string) => logs.filter((l) => l.msg === msg)
  const waitLog = async (msg: string, pred: (l: LogLine) => boolean = () => true) => {
    let found: LogLine | undefined
    await waitFor(() => {
      found = logs.find((l) => l.msg === msg && pred(l))
      return found !== undefined
    }, `log "${msg}"`)
    return found as LogLine
  }
  const waitPending = async (pred: (tx: PoolTx) => boolean, what: string) => {
    let found: PoolTx | undefined
    await waitFor(
      async () => {
        found = (await pendingTxs()).find(pred)
        return found !== undefined
      },
      what,
      { intervalMs: 50 },
    )
    const tx = found as PoolTx
    await waitFor(() => sender.status().inFlight === tx.hash, `the sender to track ${tx.hash}`)
    return tx
  }

  return {
    chain,
    pool,
    sender,
    statusClient,
    signer,
    submitProxy,
    heads,
    logs,
    rpc,
    mine,
    mineFull,
    async addOp(version = 'v0.7', fees = OP_FEES) {
      // buildOp prices preVerificationGas with its own fees; other fees change the calldata cost.
      const owner = newOwner()
      const { op } = await buildOp(chain, version, { owner, overrides: { ...fees }, sign: false })
      op.preVerificationGas = requiredPreVerificationGas(
        { ...op, signature: `0x${'ff'.repeat(65)}` },
        chainSpec,
      )
      op.signature = await signUserOp(chain, version, op, owner)
      return pool.addOp(chain.deployment.entryPoints[version], op)
    },
    sendBundleNowBounded(timeoutMs = 30_000) {
      let timer: NodeJS.Timeout | undefined
      const guard = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('sendBundleNow did not answer')), timeoutMs)
      })
      return Promise.race([sender.sendBundleNow(), guard]).finally(() => clearTimeout(timer))
    },
    pendingTxs,
    waitPending,
    waitLog,
    logsOf,
    async mineUntilMined(opHashes, maxBlocks = 10) {
      const allMined = async () => {
        for (const h of opHashes) if (!(await pool.getMinedOp(h))) return false
        return true
      }
      for (let i = 0; i < maxBlocks && !(await allMined()); i++) {
        // Something to mine, or give up waiting after a while and mine anyway (a head is also a trigger).
        await waitFor(async () => (await pendingTxs()).length > 0, 'a pending bundle', {
          timeoutMs: 2_000,
          intervalMs: 50,
        }).catch(() => undefined)
        await mine()
        await waitFor(() => pool.isCurrent(), 'the pool to see the block')
      }
      await waitFor(allMined, `ops ${opHashes.join(', ')} mined`, { timeoutMs: 10_000 })
    },
    async opReceipt(version, opHash) {
      const info = await pool.getMinedOp(opHash)
      if (!info) throw new Error(`op ${opHash} not mined`)
      const receipt = await chain.client.getTransactionReceipt({ hash: info.transactionHash })
      const tx = await chain.client.getTransaction({ hash: info.transactionHash })
      const events = parseEventLogs({
        abi: entryPointAbi(version),
        eventName: 'UserOperationEvent',
        logs: receipt.logs,
      })
      const ev = events.find((e) => (e.args as { userOpHash: Hash }).userOpHash === opHash)
      if (!ev) throw new Error(`no UserOperationEvent for ${opHash} in ${info.transactionHash}`)
      return { receipt, success: (ev.args as { success: boolean }).success, nonce: BigInt(tx.nonce) }
    },
    stop: stopAll,
  }
}

/** A failed scenario shows what the driver did (every one with SHOW_LOGS set). */
export function showLogsIfFailed(rig: SenderRig, failed: boolean): void {
  if (!failed && !process.env.SHOW_LOGS) return
  for (const l of rig.logs) {
    const { level: _l, time: _t, pid: _p, hostname: _h, sender: _s, msg, ...rest } = l
    console.log(msg, JSON.stringify(rest))
  }
}
