import type { Address, Hash, PublicClient } from 'viem'
import { aaCode } from '../chain/revert.js'
import type { PoolOp } from '../pool/types.js'
import { settleValidation } from '../sim/batch-outcome.js'
import { BlockReads } from '../sim/precheck-state.js'
import type { ValidationResult, Validator } from '../sim/types.js'
import { mapLimit } from '../util/concurrency.js'
import type { RpcError } from '../util/errors.js'
import type { ProposalRecorder } from './proposal-report.js'

export interface ResimulationDeps {
  client: PublicClient
  validator: Validator
  concurrency: number
}

/**
 * The seed's second simulation: every candidate is simulated again at one block and the validation
 * rules re-checked; an op that fails, or whose entities' code changed since admission, leaves the
 * bundle and the pool (recorded as rejected). A failed RPC call is thrown: the sender retries.
 */
export async function resimulate(
  deps: ResimulationDeps,
  entryPoint: Address,
  ops: PoolOp[],
  blockNumber: bigint,
  recorder: ProposalRecorder,
): Promise<PoolOp[]> {
  // One block for the whole bundle: its block and each contract's code are read once.
  const reads = new BlockReads(deps.client)
  const { validator, concurrency } = deps
  const opts = { blockNumber, reads, concurrency }
  // validateMany simulates the bundle in one eth_call when it can; otherwise one call per op.
  const outcomes = validator.validateMany
    ? await validator.validateMany(
        entryPoint,
        ops.map((c) => c.op),
        opts,
      )
    : await mapLimit(ops, concurrency, (c) => settleValidation(validator.validate(entryPoint, c.op, opts)))
  const kept: PoolOp[] = []
  for (const [i, c] of ops.entries()) {
    const outcome = outcomes[i]
    if (!outcome) throw new Error(`validator returned ${outcomes.length} outcomes for ${ops.length} ops`)
    // A rejection is the op's fault; a failed RPC call was thrown: the sender retries the proposal.
    const changed = outcome.ok ? changedCode(c.validation, outcome.result) : undefined
    if (!outcome.ok) recorder.reject(c, rejectionReason(outcome.error))
    else if (changed) recorder.reject(c, `code of ${changed} changed since admission`)
    else kept.push({ ...c, validation: outcome.result })
  }
  return kept
}

/** The EntryPoint's reason ("AA25 invalid account nonce") when the rejection carries one. */
function rejectionReason(err: RpcError): string {
  const reason = (err.data as { reason?: unknown } | undefined)?.reason
  return typeof reason === 'string' && aaCode(reason) ? reason : err.message
}

/** The first address whose code hash differs between admission and now. */
function changedCode(before: ValidationResult, now: ValidationResult): Address | undefined {
  for (const [address, hash] of Object.entries(before.codeHashes) as [Address, Hash][]) {
    const current = now.codeHashes[address]
    if (current !== undefined && current !== hash) return address
  }
  return undefined
}
