import type { Hex } from 'viem'
import type { ValidationPhase } from '../../tracer-seam.js'
import { lowerCaseConfig, type TracerConfig } from '../js-source.js'
import type { RawPhase, RawTrace } from '../raw.js'

/**
 * What the in-process replay observes, in the very shape the JS tracer returns (RawTrace), so both
 * sources share one parser and one rule checker. The rules it mirrors are those of js-source.ts:
 * a phase opens at the EntryPoint's createSender / validateUserOp / validatePaymasterUserOp call and
 * closes when that frame exits; nothing is recorded outside a phase or while EntryPoint code runs
 * inside one; GAS counts only when the next opcode is not a *CALL; EXTCODESIZE of the EntryPoint
 * counts as a code access only when ISZERO does not follow; SLOAD keeps the first value read.
 *
 * The replay feeds it plain values (addresses lower-case hex, slots as bigints), so this file knows
 * nothing of the EVM library.
 */

/** A frame opening, as the replay sees a message start. */
export interface FrameStart {
  depth: number
  /** CALL, STATICCALL, DELEGATECALL, CALLCODE, CREATE, CREATE2 (the top-level call: CALL). */
  type: string
  from: string
  to: string
  input: Uint8Array
  value: bigint
  gas: bigint
}

const CALL_OPS = new Set([0xf1, 0xf2, 0xf4, 0xfa])
const CODE_OP_NAMES: Record<number, string> = {
  59: 'EXTCODESIZE',
  60: 'EXTCODECOPY',
  63: 'EXTCODEHASH',
  241: 'CALL',
  242: 'CALLCODE',
  244: 'DELEGATECALL',
  250: 'STATICCALL',
}
/** Short KECCAK256 inputs (mapping keys) are what association needs; cap how many per phase. */
const KECCAK_MIN = 20
const KECCAK_MAX = 128
const KECCAK_PER_PHASE = 512

interface Phase {
  raw: RawPhase
  keccak: Set<Hex>
}

interface Frame {
  ep: boolean
  /** Index in the phase's calls, or -1 when not recorded (inside EntryPoint code). */
  idx: number
}

export class ValidationRecorder {
  private readonly cfg: ReturnType<typeof lowerCaseConfig>
  private readonly phases: Phase[] = []
  private cur: Phase | null = null
  private phaseDepth = -1
  private epDepth = 0
  private frames: Frame[] = []
  private lastGas = false
  private pendingEp = -1
  /** Addresses whose code validation used (for the code hashes). */
  readonly touched = new Set<string>()

  constructor(cfg: TracerConfig) {
    this.cfg = lowerCaseConfig(cfg)
  }

  /** True while a phase is open and no EntryPoint code runs in it: the opcodes that count. */
  get recording(): boolean {
    return this.cur !== null && this.epDepth === 0
  }

  enter(f: FrameStart): void {
    if (this.cur === null) {
      if (f.depth === 0 || f.from !== this.cfg.ep) return
      const sel = selector(f.input)
      let phase: ValidationPhase | null = null
      if (sel === this.cfg.createSender) phase = 'factory'
      else if (sel === this.cfg.validateUserOp && f.to === this.cfg.sender) phase = 'account'
      else if (sel === this.cfg.validatePaymasterUserOp && f.to === this.cfg.paymaster) phase = 'paymaster'
      if (phase === null) return
      this.cur = {
        raw: { phase, ops: {}, storage: {}, calls: [], code: {}, keccak: [], oog: false },
        keccak: new Set(),
      }
      this.phases.push(this.cur)
      this.phaseDepth = f.depth
      this.frames = []
      this.epDepth = 0
      this.lastGas = false
      this.pendingEp = -1
      return
    }
    const isEp = f.to === this.cfg.ep
    let idx = -1
    if (this.epDepth === 0) {
      const calls = this.cur.raw.calls
      idx = calls.length
      calls.push({
        type: f.type,
        from: f.from,
        to: f.to,
        method: selector(f.input),
        value: f.value.toString(),
        gas: Number(f.gas),
        err: null,
      })
      if (f.to) this.touched.add(f.to)
    }
    if (isEp) this.epDepth++
    this.frames.push({ ep: isEp, idx })
  }

  /** A frame ended; `error` is the EVM's exception, if any ('out of gas', 'revert', ...). */
  exit(depth: number, error: string | undefined, createdAddress?: string): void {
    const p = this.cur
    if (p === null) return
    if (error && /out of gas/i.test(error)) p.raw.oog = true
    if (depth === this.phaseDepth) {
      this.cur = null
      this.phaseDepth = -1
      return
    }
    const fr = this.frames.pop()
    if (fr === undefined) return
    if (fr.ep) this.epDepth--
    const call = fr.idx >= 0 ? p.raw.calls[fr.idx] : undefined
    if (call && error) call.err = error
    // A created contract's address is known once the frame ran.
    if (call && createdAddress && !call.to) {
      call.to = createdAddress
      this.touched.add(createdAddress)
    }
  }

  /**
   * One opcode about to run in a recording frame (call only when `recording`). The hot opcodes'
   * operands come from `operand`: the storage slot, the keccak input, the address looked at.
   */
  opcode(op: number): void {
    const p = this.cur as Phase
    if (this.lastGas) {
      this.lastGas = false
      if (!CALL_OPS.has(op)) count(p.raw, 0x5a)
    }
    if (this.pendingEp >= 0) {
      if (op !== 0x15) p.raw.code[this.cfg.ep] = { op: 'EXTCODESIZE', size: this.pendingEp }
      this.pendingEp = -1
    }
    if (op === 0x5a) {
      this.lastGas = true
      return
    }
    count(p.raw, op)
  }

  sload(address: string, slot: Hex, value: Hex): void {
    const st = this.store(address)
    if (st.r[slot] === undefined && st.w[slot] === undefined) st.r[slot] = value
  }

  sstore(address: string, slot: Hex): void {
    this.store(address).w[slot] = 1
  }

  transient(address: string, slot: Hex, write: boolean): void {
    const st = this.store(address)
    st.t[slot] = write ? 'w' : (st.t[slot] ?? 'r')
  }

  keccak(input: () => Hex, length: number): void {
    const p = this.cur as Phase
    if (length < KECCAK_MIN || length > KECCAK_MAX || p.keccak.size >= KECCAK_PER_PHASE) return
    p.keccak.add(input())
  }

  /** EXTCODESIZE/COPY/HASH (op 0x3b/0x3c/0x3f) or a *CALL's target, with its code size now. */
  codeAccess(op: number, address: string, size: number): void {
    const p = this.cur as Phase
    if (address === this.cfg.ep) {
      if (op === 0x3b) this.pendingEp = size
      else if (op === 0x3c || op === 0x3f) p.raw.code[address] = { op: CODE_OP_NAMES[op] as string, size }
      return
    }
    this.touched.add(address)
    const prev = p.raw.code[address]
    if (prev === undefined || size < prev.size)
      p.raw.code[address] = { op: CODE_OP_NAMES[op] as string, size }
  }

  /** The trace as the JS tracer's `result` would give it. */
  result(code: Record<string, Hex>, output: Hex, error: string | null): RawTrace {
    const phases = this.phases.map((p) => ({ ...p.raw, keccak: [...p.keccak] }))
    return { phases, code, output, error }
  }

  private store(address: string): RawPhase['storage'][string] {
    const p = this.cur as Phase
    let st = p.raw.storage[address]
    if (st === undefined) {
      st = { r: {}, w: {}, t: {} }
      p.raw.storage[address] = st
    }
    this.touched.add(address)
    return st
  }
}

function count(p: RawPhase, op: number): void {
  p.ops[op] = (p.ops[op] ?? 0) + 1
}

function selector(input: Uint8Array): Hex {
  let s = '0x'
  for (let i = 0; i < Math.min(4, input.length); i++) s += (input[i] as number).toString(16).padStart(2, '0')
  return s as Hex
}
