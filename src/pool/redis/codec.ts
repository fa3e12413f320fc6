import type { MinedOpInfo, PoolOp } from '../types.js'

// Pool data holds bigints (fees, gas, stakes, receipt numbers): JSON carries them as {"$n":"<decimal>"}.
const replacer = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? { $n: v.toString() } : v)
const reviver = (_k: string, v: unknown): unknown => {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>
    if (typeof o.$n === 'string' && Object.keys(o).length === 1) return BigInt(o.$n)
  }
  return v
}

export const encode = (v: unknown): string => JSON.stringify(v, replacer)
export const decode = <T>(s: string): T => JSON.parse(s, reviver) as T

/** A pooled op without its `seq` (the store assigns it; it travels in the op's sort member). */
export function encodePoolOp(op: PoolOp): string {
  const { seq: _seq, ...rest } = op
  return encode(rest)
}

export function decodePoolOp(payload: string, seq: number): PoolOp {
  return { ...decode<Omit<PoolOp, 'seq'>>(payload), seq }
}

export function encodeMinedOp(info: Omit<MinedOpInfo, 'op'> & { op?: unknown }): string {
  return encode(info)
}

export const decodeMinedOp = (s: string): MinedOpInfo => decode<MinedOpInfo>(s)
