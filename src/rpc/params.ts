import { type Address, getAddress, type Hash, type Hex } from 'viem'
import { type ZodIssue, type ZodTypeAny, z } from 'zod'
import type { UserOperation } from '../chain/userop.js'
import type { ReputationEntry, ReputationStatus } from '../pool/types.js'
import type { StateOverrideSet, UserOperationDraft } from '../sim/types.js'
import { invalidParams, type RpcError } from '../util/errors.js'

/**
 * Strict parsing of JSON-RPC parameters. Every rejection is a -32602 whose message names the field
 * (`params[0].callGasLimit: …`), so a client can see what to fix.
 */

const U128_MAX = (1n << 128n) - 1n

/** EIP-55: all-lower and all-upper hex carry no checksum; mixed case must be the checksum. */
function hasValidChecksum(s: string): boolean {
  const digits = s.slice(2)
  if (digits === digits.toLowerCase() || digits === digits.toUpperCase()) return true
  return getAddress(s) === s
}

/**
 * A string that must match `re`. The issue is fatal so later refinements (which may assume the
 * format, like a checksum check) never see a malformed value.
 */
function hexString(re: RegExp, message: string) {
  return z.string({ invalid_type_error: message }).superRefine((s, ctx) => {
    if (!re.test(s)) ctx.addIssue({ code: 'custom', message, fatal: true })
  })
}

/** 20-byte hex; mixed case must carry a valid EIP-55 checksum. Returned checksummed. */
export const addressSchema = hexString(/^0x[0-9a-fA-F]{40}$/, 'expected a 0x-prefixed 20-byte hex address')
  .refine(hasValidChecksum, 'address has an invalid EIP-55 checksum')
  .transform((s) => getAddress(s))

/** 32-byte hex, as hashes are. Returned lower-case so lookups compare equal. */
export const hashSchema = hexString(
  /^0x[0-9a-fA-F]{64}$/,
  'expected a 0x-prefixed 32-byte hex hash',
).transform((s) => s.toLowerCase() as Hash)

/** Even-length hex, possibly empty (`0x`). */
export const bytesSchema = hexString(
  /^0x(?:[0-9a-fA-F]{2})*$/,
  'expected 0x-prefixed hex bytes of even length',
).transform((s) => s.toLowerCase() as Hex)

/**
 * A 0x-hex quantity of at most 256 bits. Leading zeros are accepted (several SDKs pad the nonce to
 * 32 bytes); decimal strings, JSON numbers and the empty `0x` are not.
 */
export const quantitySchema = hexString(
  /^0x[0-9a-fA-F]{1,64}$/,
  'expected a 0x-prefixed hex quantity of at most 256 bits',
).transform((s) => BigInt(s))

/** Gas limits and fees are packed into 128-bit halves on chain. */
export const uint128Schema = quantitySchema.refine((v) => v <= U128_MAX, 'value exceeds uint128')

// Several SDKs send explicit nulls for absent optional fields; null means absent.
export const opt = <T extends ZodTypeAny>(s: T) => s.nullish().transform((v) => v ?? undefined)

export const opShape = {
  sender: addressSchema,
  nonce: quantitySchema,
  factory: opt(addressSchema),
  factoryData: opt(bytesSchema),
  callData: bytesSchema,
  callGasLimit: uint128Schema,
  verificationGasLimit: uint128Schema,
  preVerificationGas: quantitySchema,
  maxFeePerGas: uint128Schema,
  maxPriorityFeePerGas: uint128Schema,
  paymaster: opt(addressSchema),
  paymasterVerificationGasLimit: opt(uint128Schema),
  paymasterPostOpGasLimit: opt(uint128Schema),
  paymasterData: opt(bytesSchema),
  signature: bytesSchema,
}

export interface OptionalParts {
  factory?: Address
  factoryData?: Hex
  paymaster?: Address
  paymasterVerificationGasLimit?: bigint
  paymasterPostOpGasLimit?: bigint
  paymasterData?: Hex
}

/** Factory and paymaster sub-fields only make sense with their address; reject orphans. */
export function checkOptionalParts(
  o: OptionalParts,
  ctx: z.RefinementCtx,
  paymasterGasRequired: boolean,
): void {
  if (!o.factory && o.factoryData !== undefined && o.factoryData !== '0x')
    ctx.addIssue({ code: 'custom', path: ['factoryData'], message: 'factoryData given without factory' })
  if (o.paymaster) {
    if (paymasterGasRequired) {
      for (const f of ['paymasterVerificationGasLimit', 'paymasterPostOpGasLimit'] as const)
        if (o[f] === undefined)
          ctx.addIssue({ code: 'custom', path: [f], message: 'required with paymaster' })
    }
    return
  }
  for (const f of ['paymasterVerificationGasLimit', 'paymasterPostOpGasLimit'] as const)
    if (o[f] !== undefined && o[f] !== 0n)
      ctx.addIssue({ code: 'custom', path: [f], message: `${f} given without paymaster` })
  if (o.paymasterData !== undefined && o.paymasterData !== '0x')
    ctx.addIssue({
      code: 'custom',
      path: ['paymasterData'],
      message: 'paymasterData given without paymaster',
    })
}

/** Drops the optional fields that are undefined, so the op compares and hashes cleanly. */
export function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T
}

/** Drops sub-fields whose parent is absent (they were checked to be empty). */
export function normalizeOptionalParts<T extends OptionalParts>(o: T): T {
  const out = { ...o }
  if (!out.factory) delete out.factoryData
  if (!out.paymaster) {
    delete out.paymasterVerificationGasLimit
    delete out.paymasterPostOpGasLimit
    delete out.paymasterData
  }
  return compact(out)
}

/** The unpacked v0.7/v0.8 user operation of eth_sendUserOperation; unknown fields are rejected (other shapes: op-shapes.ts). */
export const userOperationSchema = z
  .object(opShape, { invalid_type_error: 'expected a user operation object' })
  .strict()
  .superRefine((o, ctx) => checkOptionalParts(o, ctx, true))
  .transform((o) => normalizeOptionalParts(o) as UserOperation)

/** The gas and fee fields an estimation draft may leave out (every version has them). */
export const draftGasFields = {
  callGasLimit: opt(uint128Schema),
  verificationGasLimit: opt(uint128Schema),
  preVerificationGas: opt(quantitySchema),
  maxFeePerGas: opt(uint128Schema),
  maxPriorityFeePerGas: opt(uint128Schema),
}
export const DRAFT_GAS_FIELD_NAMES = Object.keys(draftGasFields) as (keyof typeof draftGasFields)[]

/** eth_estimateUserOperationGas: gas and fee fields may be missing; the signature may be a dummy. */
export const userOperationDraftSchema = z
  .object({ ...opShape, ...draftGasFields }, { invalid_type_error: 'expected a user operation object' })
  .strict()
  .superRefine((o, ctx) => checkOptionalParts(o, ctx, false))
  .transform((o) => normalizeOptionalParts(o) as UserOperationDraft)

const slotMapSchema = z
  .record(z.string(), hashSchema, { invalid_type_error: 'expected an object of 32-byte slot → value' })
  .superRefine((m, ctx) => {
    for (const k of Object.keys(m))
      if (!/^0x[0-9a-fA-F]{64}$/.test(k))
        ctx.addIssue({ code: 'custom', path: [k], message: 'slot must be a 0x-prefixed 32-byte hex key' })
  })
  .transform((m) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k.toLowerCase(), v])))

const accountOverrideSchema = z
  .object(
    {
      balance: quantitySchema.optional(),
      nonce: quantitySchema.optional(),
      code: bytesSchema.optional(),
      state: slotMapSchema.optional(),
      stateDiff: slotMapSchema.optional(),
    },
    { invalid_type_error: 'expected an account override object' },
  )
  .strict()
  .refine((o) => !(o.state && o.stateDiff), 'state and stateDiff are mutually exclusive')

/** eth_call-style state override set; values are passed on as canonical hex. */
export const stateOverrideSchema = z
  .record(z.string(), accountOverrideSchema, { invalid_type_error: 'expected a state override object' })
  .superRefine((m, ctx) => {
    for (const k of Object.keys(m))
      if (!addressSchema.safeParse(k).success)
        ctx.addIssue({ code: 'custom', path: [k], message: 'key must be a 20-byte hex address' })
  })
  .transform((m) => {
    const out: StateOverrideSet = {}
    for (const [k, v] of Object.entries(m)) {
      out[getAddress(k)] = compact({
        balance: v.balance === undefined ? undefined : (`0x${v.balance.toString(16)}` as Hex),
        nonce: v.nonce === undefined ? undefined : (`0x${v.nonce.toString(16)}` as Hex),
        code: v.code,
        state: v.state as Record<Hex, Hex> | undefined,
        stateDiff: v.stateDiff as Record<Hex, Hex> | undefined,
      })
    }
    return out
  })

/** Counters in reputation entries: hex quantity (spec) or a JSON integer (older test suites). */
const counterSchema = z
  .union([quantitySchema, z.number().int().nonnegative()], {
    errorMap: () => ({ message: 'expected a non-negative hex quantity or integer' }),
  })
  .transform((v) => (typeof v === 'bigint' ? v : BigInt(v)))
  .refine((v) => v <= BigInt(Number.MAX_SAFE_INTEGER), 'counter too large')
  .transform((v) => Number(v))

export const reputationEntrySchema = z
  .object(
    {
      address: addressSchema,
      opsSeen: counterSchema,
      opsIncluded: counterSchema,
      status: z.enum(['ok', 'throttled', 'banned']).optional(),
    },
    { invalid_type_error: 'expected a reputation entry object' },
  )
  .strict()
  .transform((e) => compact(e) as ReputationEntry & { status?: ReputationStatus })

export const reputationEntriesSchema = z.array(reputationEntrySchema, {
  invalid_type_error: 'expected an array of reputation entries',
})

function formatPath(path: (string | number)[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('')
}

function issueMessage(issue: ZodIssue, prefix: string): string {
  const where = prefix + formatPath(issue.path)
  if (issue.code === 'unrecognized_keys') return `${where}: unknown field ${issue.keys.join(', ')}`
  if (issue.code === 'invalid_type' && issue.received === 'undefined') return `${where}: missing`
  return `${where}: ${issue.message}`
}

/** Converts a zod failure into -32602 naming the first bad field; all of them go into data. */
export function paramsError(issues: ZodIssue[], prefix: string): RpcError {
  const messages = issues.map((i) => issueMessage(i, prefix))
  return invalidParams(messages[0] ?? `${prefix}: invalid`, { errors: messages.slice(0, 20) })
}

/** Parses one positional parameter or throws -32602. */
export function parseParam<S extends ZodTypeAny>(
  schema: S,
  value: unknown,
  index: number,
  path = '',
): z.output<S> {
  const r = schema.safeParse(value)
  if (!r.success) throw paramsError(r.error.issues, `params[${index}]${path}`)
  return r.data
}

/**
 * Checks the positional parameter list: JSON-RPC allows by-name params, but the bundler methods are
 * positional only. Missing trailing optional params come back as undefined.
 */
export function positional(params: unknown, required: number, max: number): unknown[] {
  if (params === undefined) params = []
  if (!Array.isArray(params)) throw invalidParams('params must be an array')
  if (params.length < required)
    throw invalidParams(
      `expected ${required === max ? required : `at least ${required}`} params, got ${params.length}`,
    )
  if (params.length > max) throw invalidParams(`expected at most ${max} params, got ${params.length}`)
  return params
}
