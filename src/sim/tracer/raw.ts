import { type Address, getAddress, type Hash, type Hex } from 'viem'
import { codeHash } from '../code-hash.js'
import type { CallOutcome } from '../sim-call.js'
import type {
  PhaseTrace,
  StorageAccess,
  TracedCall,
  ValidationPhase,
  ValidationTrace,
} from '../tracer-seam.js'
import { opcodeName } from './opcodes.js'

/** What the JS tracer's `result` returns (js-source.ts), before parsing. */
export interface RawTrace {
  phases: RawPhase[]
  /** address → code, of every contract validation used (the EntryPoint excluded). */
  code: Record<string, Hex>
  output: Hex
  error: string | null
}

export interface RawPhase {
  phase: ValidationPhase
  ops: Record<string, number>
  storage: Record<string, { r: Record<Hex, Hex>; w: Record<Hex, number>; t: Record<Hex, 'r' | 'w'> }>
  calls: {
    type: string
    from: string
    to: string
    method: Hex
    value: string
    gas: number
    err: string | null
  }[]
  code: Record<string, { op: string; size: number }>
  keccak: Hex[]
  oog: boolean
}

/**
 * A PhaseTrace plus what the seam's shape cannot say: which transient slots were written (TSTORE)
 * rather than only read. The rule checker treats transient slots as writes when this is absent.
 */
export interface TracedPhase extends PhaseTrace {
  transientWrites?: Record<Address, Hex[]>
}

/** The entity address of each phase, from the op. */
export interface PhaseEntities {
  sender: Address
  factory?: Address
  paymaster?: Address
}

/**
 * Parses the tracer's result into the seam's ValidationTrace. The outcome mirrors eth_call: success
 * data, or the revert data; a halt that is not a revert (the whole call out of gas) is thrown.
 */
export function parseRawTrace(raw: RawTrace, entities: PhaseEntities): ValidationTrace {
  const outcome: CallOutcome =
    raw.error === null ? { ok: true, data: raw.output } : revertOutcome(raw.error, raw.output)
  const phases = raw.phases.map((p) => parsePhase(p, entities))
  const codeHashes: Record<Address, Hash> = {}
  for (const [a, code] of Object.entries(raw.code)) codeHashes[getAddress(a)] = codeHash(code)
  const storageReads: Record<Address, Record<Hex, Hex>> = {}
  for (const p of phases)
    for (const [a, s] of Object.entries(p.storage) as [Address, StorageAccess][]) {
      if (Object.keys(s.reads).length === 0) continue
      storageReads[a] = { ...s.reads, ...storageReads[a] }
    }
  return { outcome, phases, codeHashes, storageReads }
}

function revertOutcome(error: string, output: Hex): CallOutcome {
  if (/revert/i.test(error)) return { ok: false, revert: output }
  throw new Error(`simulateValidation did not complete under the tracer: ${error}`)
}

function parsePhase(p: RawPhase, entities: PhaseEntities): TracedPhase {
  const entity =
    p.phase === 'factory' ? entities.factory : p.phase === 'paymaster' ? entities.paymaster : entities.sender
  const opcodes: Record<string, number> = {}
  for (const [n, count] of Object.entries(p.ops)) opcodes[opcodeName(Number(n))] = count
  const storage: Record<Address, StorageAccess> = {}
  const transientWrites: Record<Address, Hex[]> = {}
  for (const [a, s] of Object.entries(p.storage)) {
    const address = getAddress(a)
    storage[address] = {
      reads: s.r,
      writes: Object.keys(s.w) as Hex[],
      transient: Object.keys(s.t) as Hex[],
    }
    const written = Object.keys(s.t).filter((slot) => s.t[slot as Hex] === 'w') as Hex[]
    if (written.length > 0) transientWrites[address] = written
  }
  const calls: TracedCall[] = p.calls.map((c) => ({
    type: c.type as TracedCall['type'],
    from: getAddress(c.from),
    to: getAddress(c.to),
    method: c.method,
    value: BigInt(c.value),
    gas: BigInt(c.gas),
    reverted: c.err !== null,
  }))
  const codeAccess: PhaseTrace['codeAccess'] = {}
  for (const [a, c] of Object.entries(p.code)) codeAccess[getAddress(a)] = { opcode: c.op, codeSize: c.size }
  return {
    phase: p.phase,
    entity: entity ?? entities.sender,
    opcodes,
    storage,
    calls,
    codeAccess,
    keccakInputs: p.keccak,
    outOfGas: p.oog,
    transientWrites,
  }
}
