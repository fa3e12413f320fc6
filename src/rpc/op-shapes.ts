import { type Hex, size } from 'viem'
import { type ZodTypeAny, z } from 'zod'
import type { EntryPointModule, OpShape } from '../chain/entrypoint/types.js'
import { fromV06Struct, toV06Struct } from '../chain/entrypoint/v06-op.js'
import type { UserOperation } from '../chain/userop.js'
import type { UserOperationDraft } from '../sim/types.js'
import { invalidParams } from '../util/errors.js'
import { encodeEip7702Auth, splitEip7702 } from './eip7702-auth.js'
import { encodeUserOp, quantity, type RpcUserOperation } from './encode.js'
import {
  addressSchema,
  bytesSchema,
  checkOptionalParts,
  DRAFT_GAS_FIELD_NAMES,
  draftGasFields,
  normalizeOptionalParts,
  opShape,
  opt,
  parseParam,
  quantitySchema,
  uint128Schema,
  userOperationDraftSchema,
  userOperationSchema,
} from './params.js'

/**
 * The op's shape on the wire per EntryPoint version (the module's `opShape`): v0.6's packed
 * initCode and paymasterAndData without paymaster gas limits, v0.7/v0.8's unpacked fields, v0.9's
 * unpacked fields plus paymasterSignature. Each codec parses into Conveyor's one UserOperation and
 * encodes it back in the same shape; a field of another version's shape is refused with -32602
 * naming it and what this EntryPoint takes instead.
 */
export interface OpCodec {
  parseOp(value: unknown, index: number): UserOperation
  parseDraft(value: unknown, index: number): UserOperationDraft
  encode(op: UserOperation): RpcUserOperationAnyShape
}

export type RpcUserOperationV06 = {
  sender: Hex
  nonce: Hex
  initCode: Hex
  callData: Hex
  callGasLimit: Hex
  verificationGasLimit: Hex
  preVerificationGas: Hex
  maxFeePerGas: Hex
  maxPriorityFeePerGas: Hex
  paymasterAndData: Hex
  signature: Hex
}
export type RpcUserOperationAnyShape = RpcUserOperation | RpcUserOperationV06

const UNPACKED_INSTEAD = {
  initCode: 'factory and factoryData',
  paymasterAndData: 'paymaster, paymasterVerificationGasLimit, paymasterPostOpGasLimit and paymasterData',
}
const V06_INSTEAD = {
  factory: 'initCode',
  factoryData: 'initCode',
  paymaster: 'paymasterAndData',
  paymasterData: 'paymasterAndData',
  paymasterVerificationGasLimit: 'verificationGasLimit (it covers the paymaster in v0.6)',
  paymasterPostOpGasLimit: 'verificationGasLimit (it covers the postOp in v0.6)',
  paymasterSignature: 'paymasterAndData',
}
const V07_INSTEAD = {
  ...UNPACKED_INSTEAD,
  paymasterSignature: 'paymasterData (a separate paymaster signature is v0.9)',
}

/** -32602 for a field of another version's op shape, before the schema's own messages. */
function refuseForeignFields(
  value: unknown,
  index: number,
  instead: Record<string, string>,
  ep: string,
): void {
  if (value === null || typeof value !== 'object') return
  for (const field of Object.keys(value)) {
    const use = instead[field]
    if (use !== undefined)
      throw invalidParams(`params[${index}].${field}: not a field of ${ep} user operations; use ${use}`, {
        field,
      })
  }
}

const u128Fields = {
  callGasLimit: uint128Schema,
  verificationGasLimit: uint128Schema,
  maxFeePerGas: uint128Schema,
  maxPriorityFeePerGas: uint128Schema,
}

/** initCode and paymasterAndData are empty or start with a 20-byte address. */
const addressPrefixed = (field: string) =>
  bytesSchema.refine(
    (b) => b === '0x' || size(b) >= 20,
    `${field} must be empty or start with a 20-byte address`,
  )

const v06Fields = {
  sender: addressSchema,
  nonce: quantitySchema,
  initCode: addressPrefixed('initCode'),
  callData: bytesSchema,
  ...u128Fields,
  preVerificationGas: quantitySchema,
  paymasterAndData: addressPrefixed('paymasterAndData'),
  signature: bytesSchema,
}

const v06Op = z
  .object(v06Fields, { invalid_type_error: 'expected a user operation object' })
  .strict()
  .transform((o) => fromV06Struct(o))

const v06Draft = z
  .object(
    {
      ...v06Fields,
      initCode: opt(addressPrefixed('initCode')),
      paymasterAndData: opt(addressPrefixed('paymasterAndData')),
      ...draftGasFields,
    },
    { invalid_type_error: 'expected a user operation object' },
  )
  .strict()
  .transform((o) => {
    const op = fromV06Struct({
      ...o,
      initCode: o.initCode ?? '0x',
      paymasterAndData: o.paymasterAndData ?? '0x',
      callGasLimit: 0n,
      verificationGasLimit: 0n,
      preVerificationGas: 0n,
      maxFeePerGas: 0n,
      maxPriorityFeePerGas: 0n,
    }) as UserOperationDraft
    for (const f of DRAFT_GAS_FIELD_NAMES) {
      if (o[f] === undefined) delete op[f]
      else op[f] = o[f]
    }
    return op
  })

/** v0.9's paymasterSignature: non-empty, and only with a paymaster. */
const paymasterSignatureField = { paymasterSignature: opt(bytesSchema) }
function checkPaymasterSignature(o: { paymaster?: unknown; paymasterSignature?: Hex }, ctx: z.RefinementCtx) {
  if (o.paymasterSignature === undefined) return
  if (o.paymasterSignature === '0x')
    ctx.addIssue({
      code: 'custom',
      path: ['paymasterSignature'],
      message: 'must not be empty: omit it instead',
    })
  if (!o.paymaster)
    ctx.addIssue({
      code: 'custom',
      path: ['paymasterSignature'],
      message: 'paymasterSignature given without paymaster',
    })
}

/** v0.9's op: v0.7's fields plus paymasterSignature; drafts may leave the gas fields out. */
function v09Schema<T extends UserOperation | UserOperationDraft>(draft: boolean) {
  return z
    .object(
      { ...opShape, ...paymasterSignatureField, ...(draft ? draftGasFields : {}) },
      { invalid_type_error: 'expected a user operation object' },
    )
    .strict()
    .superRefine((o, ctx) => {
      checkOptionalParts(o, ctx, !draft)
      checkPaymasterSignature(o, ctx)
    })
    .transform((o) => normalizeV09(o) as unknown as T)
}
const v09Op = v09Schema<UserOperation>(false)
const v09Draft = v09Schema<UserOperationDraft>(true)

function normalizeV09<T extends { paymaster?: unknown; paymasterSignature?: Hex }>(o: T): T {
  const out = normalizeOptionalParts(o as never) as T
  if (!out.paymaster) delete out.paymasterSignature
  return out
}

interface ShapeSchemas {
  instead: Record<string, string>
  op: ZodTypeAny
  draft: ZodTypeAny
  encode: OpCodec['encode']
}

function encodeV06(op: UserOperation): RpcUserOperationV06 {
  const s = toV06Struct(op)
  return {
    sender: s.sender,
    nonce: quantity(s.nonce),
    // Bytes go out lower-case, as every other bytes field (the addresses inside are not checksummed).
    initCode: s.initCode.toLowerCase() as Hex,
    callData: s.callData,
    callGasLimit: quantity(s.callGasLimit),
    verificationGasLimit: quantity(s.verificationGasLimit),
    preVerificationGas: quantity(s.preVerificationGas),
    maxFeePerGas: quantity(s.maxFeePerGas),
    maxPriorityFeePerGas: quantity(s.maxPriorityFeePerGas),
    paymasterAndData: s.paymasterAndData.toLowerCase() as Hex,
    signature: s.signature,
  }
}

function encodeV09(op: UserOperation): RpcUserOperation {
  const out = encodeUserOp(op)
  return op.paymaster && op.paymasterSignature !== undefined
    ? { ...out, paymasterSignature: op.paymasterSignature }
    : out
}

const SHAPES: Record<OpShape, ShapeSchemas> = {
  'v0.6': { instead: V06_INSTEAD, op: v06Op, draft: v06Draft, encode: encodeV06 },
  'v0.7': {
    instead: V07_INSTEAD,
    op: userOperationSchema,
    draft: userOperationDraftSchema,
    encode: encodeUserOp,
  },
  'v0.9': { instead: UNPACKED_INSTEAD, op: v09Op, draft: v09Draft, encode: encodeV09 },
}

/** The wire codec of ops for this EntryPoint (v0.8+ also carry `eip7702Auth`, eip7702-auth.ts). */
export function opCodec(ep: Pick<EntryPointModule, 'opShape' | 'version' | 'eip7702'>): OpCodec {
  const shape = SHAPES[ep.opShape]
  const label = `EntryPoint ${ep.version}`
  const parse = <T extends UserOperation | UserOperationDraft>(
    schema: ZodTypeAny,
    value: unknown,
    index: number,
  ) => {
    refuseForeignFields(value, index, shape.instead, label)
    const { rest, auth } = splitEip7702(value, index, { eip7702: ep.eip7702, version: ep.version })
    const op: T = parseParam(schema, rest, index)
    if (auth) op.eip7702Auth = auth
    return op
  }
  return {
    parseOp: (value, index) => parse<UserOperation>(shape.op, value, index),
    parseDraft: (value, index) => parse<UserOperationDraft>(shape.draft, value, index),
    encode(op) {
      const out = shape.encode(op)
      return op.eip7702Auth ? { ...out, eip7702Auth: encodeEip7702Auth(op.eip7702Auth) } : out
    },
  }
}
