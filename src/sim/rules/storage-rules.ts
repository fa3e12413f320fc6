import type { Address, Hex } from 'viem'
import { RpcCode } from '../../util/errors.js'
import type { TracedPhase } from '../tracer/raw.js'
import type { RuleViolation, StorageAccess } from '../tracer-seam.js'
import type { AssociationBase } from './associated.js'
import { isAssociated } from './associated.js'
import { entityName, type PhaseView, same, stakeShortfall, violation } from './context.js'
import type { RuleSettings } from './settings.js'

/** Why an access is allowed (a rule id), or what it violates and whether a stake would cure it. */
export type AccessVerdict =
  | { ok: true; rule: string }
  | {
      ok: false
      rule: string
      curableByStake: boolean
      why: string
      blame?: { kind: 'factory'; address: Address }
    }

export interface StorageFacts {
  view: PhaseView
  /** Whether the op's factory (if any) is staked (STO-022). */
  factoryStaked: boolean
  /** The op's entities other than this phase's (their storage is no "non-entity" storage). */
  otherEntities: Address[]
  bases: readonly AssociationBase[]
}

/**
 * ERC-7562's storage rules for one access by the phase's entity (pure; table-tested):
 * STO-010 the sender's own storage; STO-021/022 storage associated with the sender; STO-031 the
 * entity's own storage, STO-032 storage associated with it, STO-033 read-only elsewhere — the last
 * three only for a staked entity.
 */
export function storageVerdict(address: Address, slot: Hex, write: boolean, f: StorageFacts): AccessVerdict {
  const v = f.view
  if (same(address, v.sender)) return { ok: true, rule: 'STO-010' }
  if (isAssociated(slot, v.sender, f.bases)) {
    if (!v.factory) return { ok: true, rule: 'STO-021' }
    if (f.factoryStaked) return { ok: true, rule: 'STO-022' }
    return {
      ok: false,
      rule: 'STO-022',
      curableByStake: true,
      why: `storage associated with sender ${v.sender} while it is being deployed by unstaked factory ${v.factory}`,
      blame: { kind: 'factory', address: v.factory },
    }
  }
  if (same(address, v.entity)) {
    if (v.staked) return { ok: true, rule: 'STO-031' }
    return { ok: false, rule: 'STO-031', curableByStake: true, why: 'its own storage while unstaked' }
  }
  if (f.otherEntities.some((e) => same(e, address)))
    return {
      ok: false,
      rule: 'STO-033',
      curableByStake: false,
      why: `the storage of another entity ${address}`,
    }
  if (isAssociated(slot, v.entity, f.bases)) {
    if (v.staked) return { ok: true, rule: 'STO-032' }
    return {
      ok: false,
      rule: 'STO-032',
      curableByStake: true,
      why: 'storage associated with itself while unstaked',
    }
  }
  if (write)
    return { ok: false, rule: 'STO-033', curableByStake: false, why: 'a write to unassociated storage' }
  if (v.staked) return { ok: true, rule: 'STO-033' }
  return { ok: false, rule: 'STO-033', curableByStake: true, why: 'unassociated storage while unstaked' }
}

/** Storage and transient storage (OP-070: treated exactly like storage) of one phase. */
export function storageViolations(p: TracedPhase, f: StorageFacts, s: RuleSettings): RuleViolation[] {
  const out: RuleViolation[] = []
  const curable: RuleViolation[] = []
  for (const [address, access] of Object.entries(p.storage) as [Address, StorageAccess][]) {
    // Without the tracer's read/write split, transient accesses count as writes (the stricter).
    const tWrites = new Set(
      (p.transientWrites ? (p.transientWrites[address] ?? []) : access.transient).map((x) => x.toLowerCase()),
    )
    const written = new Set(access.writes.map((x) => x.toLowerCase()))
    // A slot both read and written is judged by its write.
    const reads = (Object.keys(access.reads) as Hex[]).filter((slot) => !written.has(slot.toLowerCase()))
    const accesses: [Hex, boolean, boolean][] = [
      ...reads.map((slot): [Hex, boolean, boolean] => [slot, false, false]),
      ...access.writes.map((slot): [Hex, boolean, boolean] => [slot, true, false]),
      ...access.transient.map((slot): [Hex, boolean, boolean] => [
        slot,
        tWrites.has(slot.toLowerCase()),
        true,
      ]),
    ]
    for (const [slot, write, transient] of accesses) {
      const verdict = storageVerdict(address, slot, write, f)
      if (verdict.ok) continue
      const who = entityName(f.view)
      const what = `${transient ? (write ? 'TSTORE' : 'TLOAD') : write ? 'SSTORE' : 'SLOAD'} ${address} slot ${slot}`
      const rule = transient ? 'OP-070' : verdict.rule
      const because = transient ? ` (transient storage follows ${verdict.rule})` : ''
      if (verdict.curableByStake) {
        const short = verdict.blame
          ? `factory not staked`
          : `${f.view.phase} not staked: ${stakeShortfall(f.view.stake, s)}`
        const v = violation(
          RpcCode.StakeTooLow,
          rule,
          f.view,
          `${who} accesses ${verdict.why}: ${what}${because}; ${short}`,
        )
        if (verdict.blame) v.entity = verdict.blame
        curable.push(v)
      } else {
        out.push(
          violation(RpcCode.BannedOpcode, rule, f.view, `${who} accesses ${verdict.why}: ${what}${because}`),
        )
      }
    }
  }
  // What no stake would cure comes first: it is the real reason the op cannot be admitted.
  return [...out, ...curable]
}
