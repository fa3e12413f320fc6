import type { SimpleStateManager } from '@ethereumjs/statemanager'
import { Account, hexToBytes } from '@ethereumjs/util'
import { type Hex, keccak256 } from 'viem'
import type { StateOverrideSet } from '../../types.js'

/**
 * The state a call read, as the node's native `prestateTracer` reports it (non-diff mode): every
 * account the call touched with its balance, nonce, code and the storage slots it accessed.
 */
export type Prestate = Record<
  string,
  { balance?: Hex; nonce?: number | Hex; code?: Hex; storage?: Record<Hex, Hex> }
>

/** One account of the replay's starting state, normalised (lower-case address and 32-byte slots). */
interface LoadedAccount {
  balance: bigint
  nonce: bigint
  code?: Hex
  storage: Map<string, Hex>
}
/** The replay's starting state by lower-case address. */
export type StartingState = Map<string, LoadedAccount>

/**
 * The replay's starting state: the pre-state, then the call's own state override on top (with
 * eth_call's semantics: `state` replaces the account's storage, `stateDiff` patches it). A node may
 * report the pre-state before or after applying the override; applying it again is the same either
 * way. Accounts absent from the pre-state do not exist; absent slots read zero.
 */
export function startingState(prestate: Prestate, override: StateOverrideSet = {}): StartingState {
  const out = new Map<string, LoadedAccount>()
  for (const [a, v] of Object.entries(prestate)) {
    out.set(a.toLowerCase(), {
      balance: big(v.balance),
      nonce: big(v.nonce),
      code: v.code,
      storage: slots(v.storage),
    })
  }
  for (const [a, o] of Object.entries(override)) {
    const key = a.toLowerCase()
    const base = out.get(key)
    const storage = o.state ? slots(o.state) : new Map(base?.storage)
    if (!o.state) for (const [slot, value] of slots(o.stateDiff)) storage.set(slot, value)
    out.set(key, {
      balance: o.balance !== undefined ? BigInt(o.balance) : (base?.balance ?? 0n),
      nonce: o.nonce !== undefined ? BigInt(o.nonce) : (base?.nonce ?? 0n),
      code: o.code ?? base?.code,
      storage,
    })
  }
  return out
}

/**
 * Code bytes and hashes by code, kept across replays: the same few contracts (the EntryPoint's
 * simulation code above all, 21 kB) are loaded for every op, and hashing them each time would cost
 * more than running them. Identity of the bytes also lets the EVM's jump analysis be reused.
 */
export class CodeCache {
  private readonly entries = new Map<string, { bytes: Uint8Array; hash: Uint8Array }>()
  private static readonly MAX = 4096

  get(code: Hex): { bytes: Uint8Array; hash: Uint8Array } {
    const key = code.toLowerCase()
    let e = this.entries.get(key)
    if (!e) {
      if (this.entries.size >= CodeCache.MAX) this.entries.clear()
      e = { bytes: hexToBytes(key as Hex), hash: hexToBytes(keccak256(key as Hex)) }
      this.entries.set(key, e)
    }
    return e
  }
}

/**
 * Loads the starting state into a SimpleStateManager emptied first (the engine reuses one), writing
 * its maps directly: the keys are the manager's own (`address` and `address_slot`, lower-case).
 */
export function loadState(sm: SimpleStateManager, state: StartingState, codes: CodeCache): void {
  const accounts = new Map<`0x${string}`, Account | undefined>()
  const code = new Map<`0x${string}`, Uint8Array>()
  const storage = new Map<string, Uint8Array>()
  for (const [address, a] of state) {
    const key = address as `0x${string}`
    let codeHash: Uint8Array | undefined
    if (a.code && a.code !== '0x') {
      const c = codes.get(a.code)
      code.set(key, c.bytes)
      codeHash = c.hash
    }
    accounts.set(key, new Account(a.nonce, a.balance, undefined, codeHash))
    for (const [slot, value] of a.storage) storage.set(`${address}_${slot}`, minimal(value))
  }
  sm.accountStack = [accounts]
  sm.codeStack = [code]
  sm.storageStack = [storage]
  sm.originalStorageCache.clear()
}

function big(v: number | Hex | undefined): bigint {
  return v === undefined ? 0n : BigInt(v)
}

/** Slots as the manager keys them: 0x and 64 lower-case hex digits. */
function slots(storage: Record<Hex, Hex> | undefined): Map<string, Hex> {
  const out = new Map<string, Hex>()
  for (const [slot, value] of Object.entries(storage ?? {}))
    out.set(`0x${slot.slice(2).toLowerCase().padStart(64, '0')}`, value as Hex)
  return out
}

/** Storage values as the EVM writes them: big-endian without leading zeros (zero is empty). */
function minimal(value: Hex): Uint8Array {
  const b = hexToBytes(value)
  let i = 0
  while (i < b.length && b[i] === 0) i++
  return b.subarray(i)
}
