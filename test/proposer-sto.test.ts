import { type Address, keccak256 } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bundleOps as opsOf } from '../src/builder/bundle.js'
import { BundleProposer, DEFAULT_PROPOSER_SETTINGS } from '../src/builder/proposer.js'
import { withoutStorageConflicts } from '../src/builder/storage-conflicts.js'
import { chainSpecFor } from '../src/chain/chain-spec.js'
import { ENTRY_POINT_VERSIONS, type EntryPointVersion } from '../src/chain/entrypoint.js'
import { FeeEstimator } from '../src/chain/fees.js'
import { userOpHash } from '../src/chain/userop.js'
import type { PoolOp } from '../src/pool/types.js'
import { Erc7562RuleChecker } from '../src/sim/rules/checker.js'
import { defaultSimSettings } from '../src/sim/settings.js'
import { Simulator } from '../src/sim/simulator.js'
import type { ValidationResult } from '../src/sim/types.js'
import { buildOp, newOwner } from './harness/account.js'
import { bundleOps } from './harness/bundle.js'
import { startTestChain, type TestChain } from './harness/chain.js'
import { ListPool } from './support/list-pool.js'
import { fundedSigner, opOutcomes } from './support/relay-bundle.js'
import { Kind } from './support/rules-actions.js'
import {
  deployedAccount,
  deployRulesEnv,
  MIN_STAKE,
  MIN_UNSTAKE_DELAY,
  type RulesEnv,
  rulesOp,
} from './support/rules-env.js'
import { type PathRig, startTracingPaths, TRACING_PATHS, type TracingPath } from './support/tracing-paths.js'

// ---- pure: which ops the proposer keeps ----

const addr = (n: number) => `0x${n.toString(16).padStart(40, '0')}` as Address
const validation = (accessedStorage: Record<Address, Record<`0x${string}`, `0x${string}`>> = {}) =>
  ({ accessedStorage }) as unknown as ValidationResult

function poolOp(
  n: number,
  p: { paymaster?: Address; factory?: Address; aggregator?: Address; reads?: Address[] } = {},
): PoolOp {
  const reads = Object.fromEntries((p.reads ?? []).map((a) => [a, { '0x0': '0x1' }])) as Record<
    Address,
    Record<`0x${string}`, `0x${string}`>
  >
  return {
    hash: keccak256(`0x${n.toString(16).padStart(2, '0')}`),
    entryPoint: addr(0x4337),
    seq: n,
    op: {
      sender: addr(n),
      nonce: 0n,
      callData: '0x',
      callGasLimit: 0n,
      verificationGasLimit: 0n,
      preVerificationGas: 0n,
      maxFeePerGas: 0n,
      maxPriorityFeePerGas: 0n,
      signature: '0x',
      paymaster: p.paymaster,
      factory: p.factory,
    },
    aggregator: p.aggregator,
    validation: validation(reads),
  } as PoolOp
}

describe('withoutStorageConflicts (STO-040/041 in the proposer)', () => {
  it('skips the op that reads another sender, whatever the order; the other goes', () => {
    const victim = poolOp(1)
    const reader = poolOp(2, { reads: [addr(1)] })
    const bystander = poolOp(3, { reads: [addr(0x99)] })
    for (const order of [
      [reader, victim, bystander],
      [victim, reader, bystander],
    ]) {
      const r = withoutStorageConflicts(order)
      expect(r.kept.map((c) => c.hash).sort()).toEqual([victim.hash, bystander.hash].sort())
      expect(r.skipped).toEqual([{ hash: reader.hash, reason: 'touches_other_sender' }])
      expect(r.conflicts.map((c) => c.rule)).toEqual(['STO-041'])
    }
  })

  it('STO-040: paymaster, factory or aggregator that is another op’s sender', () => {
    const victim = poolOp(1)
    for (const role of ['paymaster', 'factory', 'aggregator'] as const) {
      const user = poolOp(2, { [role]: addr(1) })
      const r = withoutStorageConflicts([user, victim])
      expect(r.kept).toEqual([victim])
      expect(r.skipped.map((s) => s.hash)).toEqual([user.hash])
      expect(r.conflicts[0]?.rule).toBe('STO-040')
      expect(r.conflicts[0]?.message).toContain(role)
    }
  })

  it('two ops that read each other: the first goes, the second waits (no starvation)', () => {
    const a = poolOp(1, { reads: [addr(2)] })
    const b = poolOp(2, { reads: [addr(1)] })
    const c = poolOp(3)
    const r = withoutStorageConflicts([a, b, c])
    expect(r.kept).toEqual([a, c])
    expect(r.skipped).toEqual([{ hash: b.hash, reason: 'touches_other_sender' }])
  })

  it('a chain of readers: only the ops that collide with a kept op wait', () => {
    // a reads b, b reads c: b must wait for c; once b is out, a no longer collides with anything kept.
    const c = poolOp(3)
    const b = poolOp(2, { reads: [addr(3)] })
    const a = poolOp(1, { reads: [addr(2)] })
    const r = withoutStorageConflicts([a, b, c])
    expect(r.kept).toEqual([a, c])
    expect(r.skipped.map((s) => s.hash)).toEqual([b.hash])
  })
})

// ---- on anvil: ops built to conflict, through the real tracer and the proposer ----

let chain: TestChain
let paths: Record<TracingPath, PathRig>
let stopPaths: () => Promise<void>
beforeAll(async () => {
  chain = await startTestChain()
  ;({ paths, stop: stopPaths } = await startTracingPaths(chain))
}, 60_000)
afterAll(async () => {
  await stopPaths?.()
  await chain?.stop()
})
const CASES = ENTRY_POINT_VERSIONS.flatMap((v) => TRACING_PATHS.map((p) => [v, p] as const))

describe.each(CASES)(
  'proposer skips conflicting ops on anvil (%s, %s tracing)',
  (version: EntryPointVersion, path: TracingPath) => {
    let env: RulesEnv
    beforeAll(async () => {
      env = await deployRulesEnv(chain, version)
    }, 60_000)

    it('an op whose validation reads another sender’s storage waits; the other op is mined, then it is', async () => {
      const chainSpec = chainSpecFor(chain.chainId)
      const simulator = new Simulator({
        client: paths[path].client,
        settings: defaultSimSettings(chainSpec, {
          minStakeValue: MIN_STAKE,
          minUnstakeDelaySec: BigInt(MIN_UNSTAKE_DELAY),
        }),
        tracer: paths[path].tracer,
        ruleChecker: new Erc7562RuleChecker(),
      })
      // B: a deployed SimpleAccount (an ERC-1967 proxy: a plain call to it reads its implementation slot).
      const owner = newOwner()
      await bundleOps(chain, version, [(await buildOp(chain, version, { owner })).op])
      const b = await buildOp(chain, version, { owner })
      // A: a staked RulesAccount whose validation calls B, reading B's storage (allowed by STO-033 for
      // a staked entity on its own, forbidden by STO-041 in a bundle with B).
      const aSender = await deployedAccount(env, true)
      const aOp = await rulesOp(env, {
        sender: aSender,
        account: { kind: Kind.CALL_NO_VALUE, target: b.sender },
      })

      const pooled: PoolOp[] = []
      for (const [i, op] of [aOp, b.op].entries()) {
        const v = await simulator.validate(env.entryPoint, op)
        pooled.push({
          hash: userOpHash(op, env.entryPoint, chain.chainId, version),
          entryPoint: env.entryPoint,
          op,
          seq: i,
          validation: v,
        })
      }
      const [a, bp] = pooled as [PoolOp, PoolOp]
      // Admission alone is fine for both; A's validation did read B's storage.
      expect(Object.keys(a.validation.accessedStorage).map((k) => k.toLowerCase())).toContain(
        b.sender.toLowerCase(),
      )

      const pool = new ListPool(pooled)
      const proposer = new BundleProposer({
        pool,
        validator: simulator,
        fees: new FeeEstimator({ client: paths[path].client, chainSpec }),
        client: paths[path].client,
        chainSpec,
        settings: DEFAULT_PROPOSER_SETTINGS,
      })
      const signer = await fundedSigner(chain)
      const propose = () =>
        proposer.propose({ entryPoint: env.entryPoint, signer: signer.address, shardIndex: 0 })

      const first = await propose()
      expect(first.kind).toBe('bundle')
      if (first.kind !== 'bundle') return
      expect(opsOf(first.bundle).map((c) => c.hash)).toEqual([bp.hash])
      expect(first.skipped).toContainEqual({ hash: a.hash, reason: 'touches_other_sender' })
      // Skipped, not rejected: A stays in the pool with no penalty.
      expect(first.rejected).toEqual([])
      expect(pool.removed).toEqual([])

      const mined1 = await sendAndMine(signer, first.bundle.tx)
      expect(opOutcomes(chain, version, mined1).get(bp.hash)).toBe(true)
      pool.ops = pool.ops.filter((o) => o.hash !== bp.hash)

      // With B gone, A has nothing to collide with and is bundled and mined.
      const second = await propose()
      expect(second.kind).toBe('bundle')
      if (second.kind !== 'bundle') return
      expect(opsOf(second.bundle).map((c) => c.hash)).toEqual([a.hash])
      const mined2 = await sendAndMine(signer, second.bundle.tx)
      expect(opOutcomes(chain, version, mined2).get(a.hash)).toBe(true)
    }, 90_000)
  },
)

async function sendAndMine(
  signer: Awaited<ReturnType<typeof fundedSigner>>,
  tx: { to: Address; data: `0x${string}`; gas: bigint; maxFeePerGas: bigint; maxPriorityFeePerGas: bigint },
) {
  const nonce = await chain.client.getTransactionCount({ address: signer.address, blockTag: 'pending' })
  const raw = await signer.signTransaction({ type: 'eip1559', chainId: chain.chainId, nonce, ...tx })
  const hash = await chain.client.sendRawTransaction({ serializedTransaction: raw })
  const receipt = await chain.client.waitForTransactionReceipt({ hash, pollingInterval: 50, timeout: 30_000 })
  expect(receipt.status).toBe('success')
  return receipt
}
