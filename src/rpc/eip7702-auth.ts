import type { Hex } from 'viem'
import { z } from 'zod'
import { EIP7702_MARKER, type Eip7702Auth } from '../chain/eip7702.js'
import { invalidParams } from '../util/errors.js'
import { quantity } from './encode.js'
import { addressSchema, parseParam, quantitySchema } from './params.js'

/**
 * The op's `eip7702Auth` on the wire (v0.8/v0.9): chainId, address, nonce, yParity, r, s as
 * quantities (viem pads r, s to 32 bytes and yParity to one byte). Its signature and nonce are
 * checked at admission (sim/eip7702-check.ts); here only its shape.
 */
const word = quantitySchema.transform((v) => `0x${v.toString(16).padStart(64, '0')}` as Hex)

const authSchema = z
  .object(
    {
      chainId: quantitySchema,
      address: addressSchema,
      nonce: quantitySchema.refine((v) => v < 2n ** 64n, 'must fit uint64'),
      yParity: quantitySchema.refine((v) => v <= 1n, 'must be 0 or 1').transform((v) => Number(v)),
      r: word,
      s: word,
    },
    { invalid_type_error: 'expected an authorization object' },
  )
  .strict()

/** `0x7702`, with or without its zero padding to 20 bytes, is the 7702 marker. */
const MARKER_SPELLINGS = new Set(['0x7702', EIP7702_MARKER])

/**
 * Takes `eip7702Auth` out of a raw op and normalises the short marker `0x7702` to its 20-byte
 * form, so the shape's own schema sees an ordinary factory. `allowed`: the EntryPoint serves 7702.
 */
export function splitEip7702(
  value: unknown,
  index: number,
  ep: { eip7702: boolean; version: string },
): { rest: unknown; auth?: Eip7702Auth } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { rest: value }
  const { eip7702Auth, ...rest } = value as Record<string, unknown>
  const hasAuth = eip7702Auth !== undefined && eip7702Auth !== null
  const factory = typeof rest.factory === 'string' ? rest.factory.toLowerCase() : undefined
  const marked = factory !== undefined && MARKER_SPELLINGS.has(factory)
  if (!ep.eip7702) {
    if (hasAuth)
      throw invalidParams(
        `params[${index}].eip7702Auth: EIP-7702 authorizations are served on EntryPoint v0.8 and v0.9, not ${ep.version}`,
        { field: 'eip7702Auth' },
      )
    return { rest: value }
  }
  if (marked) rest.factory = EIP7702_MARKER
  if (!hasAuth) return { rest }
  if (!marked)
    throw invalidParams(`params[${index}].eip7702Auth: given without the 0x7702 factory marker`, {
      field: 'eip7702Auth',
    })
  return { rest, auth: parseParam(authSchema, eip7702Auth, index, '.eip7702Auth') }
}

/** The authorization in its wire shape. */
export function encodeEip7702Auth(a: Eip7702Auth) {
  return {
    chainId: quantity(a.chainId),
    address: a.address,
    nonce: quantity(a.nonce),
    yParity: quantity(a.yParity),
    r: a.r,
    s: a.s,
  }
}
