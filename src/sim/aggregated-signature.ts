import type { Address, Hex, PublicClient } from 'viem'
import type { EntryPointModule } from '../chain/entrypoint/types.js'
import { decodeRevert, describeRevert, extractRevertData } from '../chain/revert.js'
import type { UserOperation } from '../chain/userop.js'
import { RpcCode, RpcError } from '../util/errors.js'
import { callSimulation, mergeOverrides } from './sim-call.js'
import type { ValidationResult } from './types.js'
import { intersectTimeRanges } from './validation-data.js'

/** IAggregator of the EntryPoint's version (aggregateSignatures and friends take its op struct). */
export function aggregatorAbi(ep: EntryPointModule) {
  return ep.artifact('IAggregator').abi
}

export interface AggregatedOpSimulation {
  ep: EntryPointModule
  op: UserOperation
  blockNumber: bigint
}

/**
 * ERC-7766 admission of an op whose account hands its signature to an aggregator this bundler
 * serves (the caller has checked it is served and staked): the aggregator's
 * `validateUserOpSignature` must accept the op's signature, and the account's validation, run
 * again with the `sigForUserOp` it returns, must return the same validation data. The result
 * records `sigForUserOp`: the op carries it, not the user's signature, in the bundle. A refusal is
 * -32507; node trouble is thrown as is.
 */
export async function acceptAggregatedSignature(
  client: PublicClient,
  sim: AggregatedOpSimulation,
  result: ValidationResult,
): Promise<ValidationResult> {
  const agg = result.aggregator
  if (!agg) return result
  const { ep, op, blockNumber } = sim
  let sigForUserOp: Hex
  try {
    sigForUserOp = (await client.readContract({
      address: agg.address,
      abi: aggregatorAbi(ep),
      functionName: 'validateUserOpSignature',
      args: [ep.toAbi(op)],
      blockNumber,
    })) as Hex
  } catch (err) {
    const revert = extractRevertData(err)
    if (revert === undefined) throw err
    throw refused(
      agg.address,
      `its validateUserOpSignature refused the op: ${describeRevert(decodeRevert(revert))}`,
    )
  }
  const withSig = { ...op, signature: sigForUserOp }
  const outcome = await callSimulation(client, {
    entryPoint: ep.address,
    data: ep.simulation.validation(withSig),
    blockNumber,
    stateOverride: mergeOverrides({}, ep.simulation.stateOverride),
  })
  const again = ep.simulation.decodeValidation(outcome, withSig)
  if (!again.ok) {
    const why = describeRevert(decodeRevert(again.revert))
    throw refused(agg.address, `the account's validation fails with the aggregator's sigForUserOp: ${why}`)
  }
  const info = again.result.returnInfo
  const account = ep.parseValidationData(info.accountValidationData)
  const range = intersectTimeRanges(account, ep.parseValidationData(info.paymasterValidationData))
  const same =
    account.aggregator.toLowerCase() === agg.address.toLowerCase() &&
    range.validAfter === result.validAfter &&
    range.validUntil === result.validUntil
  if (!same) {
    throw refused(
      agg.address,
      "the account's validation returns other data with the aggregator's sigForUserOp",
    )
  }
  return { ...result, aggregator: { ...agg, sigForUserOp } }
}

function refused(aggregator: Address, why: string): RpcError {
  return new RpcError(RpcCode.InvalidSignature, `aggregator ${aggregator}: ${why}`, { aggregator })
}
