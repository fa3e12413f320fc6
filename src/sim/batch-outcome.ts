import { RpcError } from '../util/errors.js'
import type { ValidationOutcome, ValidationResult } from './types.js'

/** validate's promise as an outcome: a rejection (RpcError) is the op's; anything else is thrown. */
export async function settleValidation(p: Promise<ValidationResult>): Promise<ValidationOutcome> {
  try {
    return { ok: true, result: await p }
  } catch (err) {
    if (err instanceof RpcError) return { ok: false, error: err }
    throw err
  }
}
