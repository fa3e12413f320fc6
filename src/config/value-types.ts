import { type Address, getAddress, type Hex, isAddress } from 'viem'
import { english } from 'viem/accounts'
import { z } from 'zod'
import { ENTRY_POINT_VERSIONS, ENTRY_POINTS, versionOf } from '../chain/entrypoint.js'

/**
 * The kind of value an option takes. Flags and environment variables arrive as strings, a config
 * file as JSON, defaults as typed values: each schema accepts all three and yields one type.
 */
export interface ValueType<T> {
  schema: z.ZodType<T, z.ZodTypeDef, unknown>
  /** What the option accepts, for --help and error messages ("an integer from 0 to 65535"). */
  accepts: string
  /** `--name` alone means true. */
  isBoolean?: boolean
  /** Writes a value the way it is given on the command line. */
  show(value: T): string
}

const INT_TEXT = /^[+-]?\d+$/
const DECIMAL_TEXT = /^[+-]?(\d+(\.\d*)?|\.\d+)$/
const HEX_TEXT = /^0x[0-9a-fA-F]+$/

// Coercers leave what they cannot read untouched, so the inner schema rejects it.
function toNumber(pattern: RegExp) {
  return (v: unknown) => (typeof v === 'string' && pattern.test(v.trim()) ? Number(v.trim()) : v)
}

function toBigInt(v: unknown): unknown {
  if (typeof v === 'string') {
    const t = v.trim()
    if (INT_TEXT.test(t) || HEX_TEXT.test(t)) return BigInt(t)
  }
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v)
  return v
}

function toBoolean(v: unknown): unknown {
  if (typeof v !== 'string') return v
  const t = v.trim().toLowerCase()
  if (t === 'true' || t === '1' || t === 'yes') return true
  if (t === 'false' || t === '0' || t === 'no') return false
  return v
}

function toList(v: unknown): unknown {
  if (typeof v !== 'string') return v
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
}

function range(min: number | bigint, max: number | bigint | undefined, noun: string): string {
  return max === undefined ? `${noun} ≥ ${min}` : `${noun} from ${min} to ${max}`
}

export function integer(opts: { min: number; max?: number; unit?: string }): ValueType<number> {
  const max = opts.max ?? Number.MAX_SAFE_INTEGER
  const unit = opts.unit ? ` (${opts.unit})` : ''
  return {
    schema: z.preprocess(toNumber(INT_TEXT), z.number().int().min(opts.min).max(max)),
    accepts: range(opts.min, opts.max, 'an integer') + unit,
    show: String,
  }
}

export function decimal(opts: { min: number; max?: number; unit?: string }): ValueType<number> {
  let s = z.number().finite().min(opts.min)
  if (opts.max !== undefined) s = s.max(opts.max)
  const unit = opts.unit ? ` (${opts.unit})` : ''
  return {
    schema: z.preprocess(toNumber(DECIMAL_TEXT), s),
    accepts: range(opts.min, opts.max, 'a number') + ', fractions allowed' + unit,
    show: String,
  }
}

/** Integer amounts that may exceed 2^53: wei, gas. Decimal or 0x-hex. */
export function bigint(opts: { min?: bigint; unit: string }): ValueType<bigint> {
  const min = opts.min ?? 0n
  return {
    schema: z.preprocess(toBigInt, z.bigint().min(min)),
    accepts: `an integer ≥ ${min} (${opts.unit}; decimal or 0x-hex)`,
    show: (v) => v.toString(),
  }
}

export function boolean(): ValueType<boolean> {
  return {
    schema: z.preprocess(toBoolean, z.boolean()),
    accepts: 'true or false',
    isBoolean: true,
    show: String,
  }
}

export function oneOf<const T extends readonly [string, ...string[]]>(values: T): ValueType<T[number]> {
  return {
    schema: z.preprocess((v) => (typeof v === 'string' ? v.trim() : v), z.enum(values)),
    accepts: `one of ${values.join(' | ')}`,
    show: String,
  }
}

export function text(what = 'a text'): ValueType<string> {
  return { schema: z.string().trim().min(1), accepts: what, show: String }
}

export function url(protocols: readonly string[], what: string): ValueType<string> {
  const schema = z
    .string()
    .trim()
    .refine((s) => {
      try {
        return protocols.includes(new URL(s).protocol)
      } catch {
        return false
      }
    })
  return { schema, accepts: what, show: String }
}

/** A comma-separated list on the command line and in the environment, an array in a file. */
export function list<T>(item: z.ZodType<T, z.ZodTypeDef, unknown>, accepts: string): ValueType<T[]> {
  return {
    schema: z.preprocess(toList, z.array(item)),
    accepts,
    show: (v) => v.join(','),
  }
}

export const addressItem = z
  .string()
  .trim()
  .refine((s) => isAddress(s, { strict: false }))
  .transform((s) => getAddress(s) as Address)

/** An EntryPoint Conveyor serves, by address or by version name ("v0.7"). */
export const entryPointItem = z
  .string()
  .trim()
  .transform((s, ctx) => {
    const byName = ENTRY_POINT_VERSIONS.find((v) => v === s)
    if (byName) return ENTRY_POINTS[byName].address
    if (isAddress(s, { strict: false }) && versionOf(s as Address)) return getAddress(s) as Address
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'not a supported EntryPoint' })
    return z.NEVER
  })

export const ENTRY_POINTS_ACCEPTS = `comma-separated EntryPoint addresses or versions (${ENTRY_POINT_VERSIONS.join(', ')})`

const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n

/** A secp256k1 private key, 32 bytes of hex with or without 0x. */
export const privateKeyItem = z
  .string()
  .trim()
  .transform((s) => (s.startsWith('0x') ? s : `0x${s}`))
  .refine((s) => /^0x[0-9a-fA-F]{64}$/.test(s) && BigInt(s) > 0n && BigInt(s) < SECP256K1_N)
  .transform((s) => s.toLowerCase() as Hex)

const WORDS = new Set(english)

/** A BIP-39 English mnemonic of 12 to 24 words. */
export const mnemonicValue = z
  .string()
  .transform((s) => s.trim().split(/\s+/).join(' '))
  .refine((s) => {
    const words = s.split(' ')
    return [12, 15, 18, 21, 24].includes(words.length) && words.every((w) => WORDS.has(w))
  })

/** A CORS origin: `*`, or scheme://host[:port] exactly as a browser sends it in Origin. */
export const corsOriginItem = z
  .string()
  .trim()
  .refine((s) => {
    if (s === '*') return true
    try {
      const u = new URL(s)
      return (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === s
    } catch {
      return false
    }
  })
