import type { Common } from '@ethereumjs/common'
import { type EVM, EVMError } from '@ethereumjs/evm'
import { bytesToHex, createAddressFromBigInt, type Address as EjsAddress } from '@ethereumjs/util'
import type { Hex } from 'viem'
import type { FrameStart, ValidationRecorder } from './recorder.js'

/**
 * What the replay feeds the recorder from, installed once on a long-lived EVM: each opcode handler
 * of that EVM's own opcode map is wrapped, and the message events mark frames. The EVM's `step`
 * event would do the same but copies the stack and memory on every opcode, several times the cost
 * of running the call. A wrapper runs after the opcode's gas is charged and just before it
 * executes. INVALID and unassigned opcodes never reach a handler, so their shared entry is
 * replaced by one that records the opcode met and then fails the frame as the EVM would.
 */
export interface ReplayTap {
  /** The recorder of the replay in progress (the engine runs one at a time); null between runs. */
  recorder: ValidationRecorder | null
  /** Called with the interpreter running an opcode, while set (the engine learns its class). */
  onInterpreter?: (interpreter: object) => void
  /** Value of a slot at the start of the call (what validation depended on), for SLOAD records. */
  original: (address: string, slot: Hex) => Hex
}

interface RunStateLike {
  opCode: number
  stack: { peek(n?: number): bigint[] }
  memory: { read(offset: number, size: number, avoidCopy?: boolean): Uint8Array }
  env: { address: EjsAddress }
  interpreter: object
  stateManager: { getCode(a: EjsAddress): Promise<Uint8Array> }
}
type Handler = (rs: RunStateLike, common: Common) => unknown
interface OpEntry {
  opcodeInfo: { code: number; isInvalid: boolean }
  opHandler: Handler
  gasHandler?: unknown
}

/** The next message's type and sender, as the *CALL / CREATE opcode that starts it says. */
interface PendingFrame {
  type: string
  from: string
  to: string
}

const FRAME_OPS: Record<number, string> = {
  240: 'CREATE',
  241: 'CALL',
  242: 'CALLCODE',
  244: 'DELEGATECALL',
  245: 'CREATE2',
  250: 'STATICCALL',
}

export function installTap(evm: EVM, tap: ReplayTap): void {
  const frames: { pending: PendingFrame | null; depths: number[] } = { pending: null, depths: [] }
  evm.events.on('beforeMessage', (m) => {
    const pending = frames.pending
    frames.pending = null
    frames.depths.push(m.depth)
    const start: FrameStart = {
      depth: m.depth,
      type: pending?.type ?? 'CALL',
      from: pending?.from ?? m.caller.toString(),
      to: pending?.to ?? m.to?.toString() ?? '',
      input: m.data,
      value: m.value,
      gas: m.gasLimit,
    }
    tap.recorder?.enter(start)
  })
  evm.events.on('afterMessage', (r) => {
    const depth = frames.depths.pop() ?? 0
    tap.recorder?.exit(depth, r.execResult.exceptionError?.error, r.createdAddress?.toString())
  })
  const map = (evm as unknown as { _opcodeMap: OpEntry[] })._opcodeMap
  const wrapped = new Map<OpEntry, OpEntry>()
  for (let op = 0; op < 256; op++) {
    const entry = map[op] as OpEntry
    let w = wrapped.get(entry)
    if (!w) {
      w = wrapEntry(entry, tap, frames)
      wrapped.set(entry, w)
    }
    map[op] = w
  }
}

/** The recorder when it is recording this opcode (a phase is open, no EntryPoint code runs). */
function live(tap: ReplayTap): ValidationRecorder | null {
  const r = tap.recorder
  return r?.recording ? r : null
}

function wrapEntry(entry: OpEntry, tap: ReplayTap, frames: { pending: PendingFrame | null }): OpEntry {
  const info = entry.opcodeInfo
  const orig = entry.opHandler
  const code = info.code
  if (info.isInvalid) {
    const opcodeInfo = Object.assign(Object.create(Object.getPrototypeOf(info)), info, { isInvalid: false })
    const opHandler: Handler = (rs) => {
      live(tap)?.opcode(rs.opCode)
      throw new EVMError(EVMError.errorMessages.INVALID_OPCODE)
    }
    return { ...entry, opcodeInfo, opHandler }
  }
  const handlers: Record<number, Handler> = {
    // KECCAK256: the input, for storage association.
    32: (rs, c) => {
      const r = live(tap)
      if (r) {
        r.opcode(code)
        const [offset, length] = rs.stack.peek(2) as [bigint, bigint]
        r.keccak(() => bytesToHex(rs.memory.read(Number(offset), Number(length))), Number(length))
      }
      return orig(rs, c)
    },
    // SLOAD: the slot and the value it had when the call started.
    84: (rs, c) => {
      const r = live(tap)
      if (r) {
        r.opcode(code)
        const address = rs.env.address.toString()
        const slot = word(rs.stack.peek(1)[0] as bigint)
        r.sload(address, slot, tap.original(address, slot))
      }
      return orig(rs, c)
    },
    85: storageOp(tap, orig, code, (r, a, slot) => r.sstore(a, slot)),
    92: storageOp(tap, orig, code, (r, a, slot) => r.transient(a, slot, false)),
    93: storageOp(tap, orig, code, (r, a, slot) => r.transient(a, slot, true)),
  }
  for (const op of [0x3b, 0x3c, 0x3f]) handlers[op] = codeOp(tap, orig, code, 0)
  for (const op of [0xf1, 0xf2, 0xf4, 0xfa]) {
    const look = codeOp(tap, orig, code, 1)
    handlers[op] = (rs, c) => {
      const to = createAddressFromBigInt(rs.stack.peek(2)[1] as bigint).toString()
      frames.pending = { type: FRAME_OPS[code] as string, from: rs.env.address.toString(), to }
      return look(rs, c)
    }
  }
  for (const op of [0xf0, 0xf5])
    handlers[op] = (rs, c) => {
      // The created address is filled in when the frame ends.
      frames.pending = { type: FRAME_OPS[code] as string, from: rs.env.address.toString(), to: '' }
      live(tap)?.opcode(code)
      return orig(rs, c)
    }
  const opHandler =
    handlers[code] ??
    ((rs: RunStateLike, c: Common) => {
      live(tap)?.opcode(code)
      tap.onInterpreter?.(rs.interpreter)
      return orig(rs, c)
    })
  return { ...entry, opHandler }
}

function storageOp(
  tap: ReplayTap,
  orig: Handler,
  code: number,
  record: (r: ValidationRecorder, address: string, slot: Hex) => void,
): Handler {
  return (rs, c) => {
    const r = live(tap)
    if (r) {
      r.opcode(code)
      record(r, rs.env.address.toString(), word(rs.stack.peek(1)[0] as bigint))
    }
    return orig(rs, c)
  }
}

/** EXTCODE* (address on top of the stack) and *CALL (address second): the code size looked at. */
function codeOp(tap: ReplayTap, orig: Handler, code: number, position: number): Handler {
  return async (rs, c) => {
    const r = live(tap)
    if (r) {
      r.opcode(code)
      const target = createAddressFromBigInt(rs.stack.peek(position + 1)[position] as bigint)
      r.codeAccess(code, target.toString(), (await rs.stateManager.getCode(target)).length)
    }
    return orig(rs, c)
  }
}

function word(v: bigint): Hex {
  return `0x${v.toString(16).padStart(64, '0')}`
}

type JumpAnalysis = (this: { _evm: object }, code: Uint8Array) => unknown
const analyses = new WeakMap<object, WeakMap<Uint8Array, unknown>>()
let patched = false

/**
 * Reuses the interpreter's jump-destination analysis of a code across replays of `evm` (the
 * EntryPoint's 21 kB are analysed on every frame otherwise: a sixth of a replay). Keyed by the code
 * bytes' identity, which the code cache keeps stable, and by the EVM, whose opcode map the analysis
 * refers to; the analysis is read-only once made. Other EVMs in the process are left as they are.
 */
export function cacheJumpAnalysis(evm: EVM, interpreterPrototype: object): void {
  analyses.set(evm, new WeakMap())
  if (patched) return
  patched = true
  const proto = interpreterPrototype as { _getValidJumpDestinations: JumpAnalysis }
  const original = proto._getValidJumpDestinations
  proto._getValidJumpDestinations = function (code) {
    const perEvm = analyses.get(this._evm)
    if (!perEvm) return original.call(this, code)
    let a = perEvm.get(code)
    if (a === undefined) {
      a = original.call(this, code)
      perEvm.set(code, a)
    }
    return a
  }
}

/** The EIPs of a Common never change here: answer `isActivatedEIP` from a set, not a list scan. */
export function fastEipLookup(common: Common): void {
  const active = new Map<number, boolean>()
  const original = common.isActivatedEIP.bind(common)
  common.isActivatedEIP = (eip: number) => {
    let on = active.get(eip)
    if (on === undefined) {
      on = original(eip)
      active.set(eip, on)
    }
    return on
  }
}
