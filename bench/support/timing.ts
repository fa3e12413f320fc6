import type { EntryPointVersion } from '../../src/chain/entrypoint.js'
import type { UserOperation } from '../../src/chain/userop.js'
import { buildOp, newOwner } from '../../test/harness/account.js'
import { bundleOps } from '../../test/harness/bundle.js'
import type { TestChain } from '../../test/harness/chain.js'
import { percentile } from '../../test/support/bundler-load.js'

export { percentile }

export interface Timing {
  median: number
  p99: number
  perSecond: number
}

/** Runs `f` over `items` with `concurrency` in flight: per-item latency and overall throughput. */
export async function timeEach<T>(
  items: T[],
  concurrency: number,
  f: (x: T) => Promise<unknown>,
): Promise<Timing> {
  const latencies: number[] = []
  let next = 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const item = items[next++] as T
        const t = performance.now()
        await f(item)
        latencies.push(performance.now() - t)
      }
    }),
  )
  const wall = performance.now() - started
  return {
    median: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    perSecond: (items.length / wall) * 1000,
  }
}

export function printTiming(label: string, r: Timing): void {
  console.log(
    `${label.padEnd(48)} median ${r.median.toFixed(1).padStart(7)} ms   p99 ${r.p99.toFixed(1).padStart(7)} ms   ${r.perSecond.toFixed(1).padStart(6)} ops/s`,
  )
}

/** `n` SimpleAccounts deployed (in bundles of 16), and one fresh signed op for each. */
export async function deployedAccountOps(
  chain: TestChain,
  version: EntryPointVersion,
  n: number,
  preVerificationGas: bigint,
): Promise<UserOperation[]> {
  const owners = Array.from({ length: n }, newOwner)
  for (let i = 0; i < owners.length; i += 16) {
    const firsts = await Promise.all(
      owners.slice(i, i + 16).map(async (owner) => (await buildOp(chain, version, { owner })).op),
    )
    const mined = await bundleOps(chain, version, firsts)
    if (!mined.events.every((e) => e.success)) throw new Error('account deployment failed')
  }
  const ops: UserOperation[] = []
  for (const owner of owners)
    ops.push((await buildOp(chain, version, { owner, overrides: { preVerificationGas } })).op)
  return ops
}
