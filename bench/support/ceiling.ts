/**
 * The chain's own ceiling for the bench's ops, measured on the same `conveyor dev` chain with the
 * bundler idle: every op built and signed beforehand, put 10 to a direct handleOps transaction from
 * 4 EOAs (an account's ops always from the same EOA, so their nonces stay in order), each
 * transaction's gas limit its eth_estimateGas +10 %, all sent at once so the node packs blocks as
 * full as it can. Ops mined per second over the same window as a bundler run.
 */
import { type Hash, type Hex, numberToHex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import type { EntryPointVersion } from '../../src/chain/entrypoint.js'
import { mapLimit } from '../../src/util/concurrency.js'
import { currentFees } from '../../test/harness/account.js'
import { handleOpsCallData } from '../../test/harness/bundle.js'
import type { TestChain } from '../../test/harness/chain.js'
import { type BuiltOp, type LoadAccount, nextOp, type OpGas } from '../../test/support/bundler-load.js'
import { ChainReceiptWatcher } from './chain-receipts.js'
import { type BundleStats, bundleStats } from './e2e-report.js'
import { freshAccountOp } from './fresh-ops.js'

const EOAS = 4
const OPS_PER_TX = 10

export interface CeilingOptions {
  version: EntryPointVersion
  /** Deployed accounts to drive; none: every op is a brand-new account's first. */
  accounts?: LoadAccount[]
  gas: OpGas
  rampS: number
  windowS: number
  /** Ops built beforehand per second of ramp and window: above the ceiling, or the bench runs dry. */
  opsPerS: number
}

export interface CeilingResult extends BundleStats {
  opsPerS: number
  bundles: number
  opsPerBundle: number
  failed: number
  /** Ops built but not mined by the window's end (the ceiling was not starved if > 0). */
  unmined: number
}

export async function measureCeiling(chain: TestChain, o: CeilingOptions): Promise<CeilingResult> {
  const fees = await currentFees(chain)
  const total = Math.ceil(o.opsPerS * (o.rampS + o.windowS + 2))
  const eoas = Array.from({ length: EOAS }, () => privateKeyToAccount(generatePrivateKey()))
  for (const eoa of eoas) {
    await chain.client.request({
      method: 'anvil_setBalance' as never,
      params: [eoa.address, numberToHex(10n ** 24n)] as never,
    })
  }
  // Each EOA's ops, in the order they must run.
  const perEoa: BuiltOp[][] = eoas.map(() => [])
  if (o.accounts) {
    const accounts = o.accounts
    for (let built = 0; built < total; ) {
      const round = await mapLimit(accounts, 16, async (account) => {
        const op = await nextOp(chain, o.version, { ...account }, o.gas, fees)
        account.nonce++
        return op
      })
      for (const [i, op] of round.entries()) perEoa[i % EOAS]?.push(op)
      built += round.length
    }
  } else {
    const ops = await mapLimit(
      Array.from({ length: total }, (_, i) => i),
      16,
      () => freshAccountOp(chain, o.version, o.gas, fees),
    )
    for (const [i, op] of ops.entries()) perEoa[i % EOAS]?.push(op)
  }
  const entryPoint = chain.deployment.entryPoints[o.version]
  const head = await chain.client.getBlock({ blockTag: 'latest' })
  // Blocks fill up, so the base fee climbs 12.5 % a block: leave room for the whole run.
  const maxFeePerGas = (head.baseFeePerGas ?? 1n) * 100n + fees.maxPriorityFeePerGas
  const txs: { raw: Hex; ops: number }[][] = await Promise.all(
    eoas.map(async (eoa, e) => {
      const ops = perEoa[e] as BuiltOp[]
      const chunks: BuiltOp[][] = []
      for (let i = 0; i < ops.length; i += OPS_PER_TX) chunks.push(ops.slice(i, i + OPS_PER_TX))
      const first = await chain.client.getTransactionCount({ address: eoa.address, blockTag: 'pending' })
      const data = (chunk: BuiltOp[]) =>
        handleOpsCallData(
          o.version,
          chunk.map((b) => b.op),
          eoa.address,
        )
      const estimate = await chain.client.estimateGas({
        account: eoa.address,
        to: entryPoint,
        data: data(chunks[0] as BuiltOp[]),
      })
      const gas = (estimate * 110n) / 100n
      return Promise.all(
        chunks.map(async (chunk, i) => ({
          ops: chunk.length,
          raw: await eoa.signTransaction({
            type: 'eip1559',
            chainId: chain.chainId,
            nonce: first + i,
            to: entryPoint,
            data: data(chunk),
            gas,
            maxFeePerGas,
            maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
          }),
        })),
      )
    }),
  )

  const watcher = new ChainReceiptWatcher(chain.client, entryPoint, 50)
  await watcher.start()
  const t0 = performance.now()
  const windowStart = t0 + o.rampS * 1000
  const windowEnd = windowStart + o.windowS * 1000
  const all = eoas.flatMap((_, e) => perEoa[e] as BuiltOp[])
  const seen = all.map((b) =>
    watcher.wait(b.hash).then((r) => ({ ...r, sentAt: t0, admittedAt: t0, minedAt: r.at })),
  )
  // Nonce order per EOA; the EOAs interleaved so the node sees every sender early.
  const longest = Math.max(...txs.map((t) => t.length))
  const order = Array.from({ length: longest }, (_, i) => txs.flatMap((t) => (t[i] ? [t[i]] : []))).flat()
  const sending = mapLimit(order, 8, (tx) =>
    chain.client.request({ method: 'eth_sendRawTransaction', params: [tx.raw] }).catch(() => undefined),
  )
  await new Promise((r) => setTimeout(r, windowEnd - performance.now()))
  watcher.stop()
  await sending
  const mined = (await Promise.all(seen.map((p) => Promise.race([p, Promise.resolve(undefined)])))).filter(
    (s) => s !== undefined,
  )
  const inWindow = mined.filter((s) => s.minedAt >= windowStart && s.minedAt < windowEnd)
  const stats = await bundleStats(chain, inWindow)
  const bundles = new Set(inWindow.map((s) => s.txHash as Hash)).size
  return {
    ...stats,
    opsPerS: Number((inWindow.length / o.windowS).toFixed(1)),
    bundles,
    opsPerBundle: Number((inWindow.length / Math.max(1, bundles)).toFixed(1)),
    failed: mined.filter((s) => !s.success).length,
    unmined: all.length - mined.length,
  }
}
