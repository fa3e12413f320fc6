import { factoryEntity } from '../chain/eip7702.js'
import type { PoolOp } from '../pool/types.js'
import { type BundleCandidate, bundleStorageConflicts, type StorageConflict } from '../sim/rules/index.js'
import type { SkippedOp } from './bundle.js'

/**
 * ERC-7562 STO-040/041 over the candidates: an op that uses another op's sender as factory,
 * paymaster or aggregator, or touches its storage, is skipped (it stays pooled for a later bundle),
 * while the op it collides with goes ahead. Skipped ops whose conflicts were all with ops that are
 * themselves skipped get a second chance, in priority order, so two ops that touch each other do
 * not starve each other: the first of them goes.
 */
export function withoutStorageConflicts(ops: PoolOp[]): {
  kept: PoolOp[]
  skipped: SkippedOp[]
  conflicts: StorageConflict[]
} {
  const candidates = ops.map(bundleCandidate)
  const found = bundleStorageConflicts(candidates)
  if (found.length === 0) return { kept: ops, skipped: [], conflicts: [] }
  const offenders = new Set(found.map((f) => f.id))
  const keptIds = new Set(ops.filter((c) => !offenders.has(c.hash)).map((c) => c.hash as string))
  for (const c of candidates) {
    if (keptIds.has(c.id)) continue
    const withIt = candidates.filter((k) => keptIds.has(k.id) || k.id === c.id)
    if (bundleStorageConflicts(withIt).length === 0) keptIds.add(c.id)
  }
  const kept = ops.filter((c) => keptIds.has(c.hash))
  const dropped = ops.filter((c) => !keptIds.has(c.hash))
  return {
    kept,
    skipped: dropped.map((c) => ({ hash: c.hash, reason: 'touches_other_sender' as const })),
    conflicts: found.filter((f) => !keptIds.has(f.id)),
  }
}

function bundleCandidate(c: PoolOp): BundleCandidate {
  return {
    id: c.hash,
    sender: c.op.sender,
    factory: factoryEntity(c.op),
    paymaster: c.op.paymaster,
    aggregator: c.aggregator,
    accessedStorage: c.validation.accessedStorage,
  }
}
