import type { Address, Hex, PublicClient } from 'viem'
import { type EntryPointVersion, entryPointArtifact } from '../chain/entrypoint.js'
import { decodeRevert, describeRevert, extractRevertData } from '../chain/revert.js'
import { packUserOp, type UserOperation } from '../chain/userop.js'
import { RpcCode, RpcError } from '../util/errors.js'
import {
  callSimulation,
  decodeSimulateValidation,
  encodeSimulateValidation,
  withSimulationCode,
} from './sim-call.js'
import type { ValidationResult } from './types.js'
import { intersectTimeRanges, parseValidationData } from './validation-data.js'

/** IAggregator of the version's contracts (the same interface for v0.7 and v0.8). */
export function aggregatorAbi(version: EntryPointVersion) {
  return entryPointArtifact(version, 'IAggregator').abi
}

export interface AggregatedOpSimulation {
  entryPoint: Address
  version: EntryPointVersion
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
  const { entryPoint, version, op, blockNumber } = sim
  let sigForUserOp: Hex
  try {
    sigForUserOp = (await client.readContract({
      address: agg.address,
      abi: aggregatorAbi(version),
      functionName: 'validateUserOpSignature',
      args: [packUserOp(op)],
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
  const again = await callSimulation(client, {
    entryPoint,
    version,
    data: encodeSimulateValidation(version, { ...op, signature: sigForUserOp }),
    blockNumber,
    stateOverride: withSimulationCode(version, entryPoint),
  })
  if (!again.ok) {
    const why = describeRevert(decodeRevert(again.revert))
    throw refused(agg.address, `the account's validation fails with the aggregator's sigForUserOp: ${why}`)
  }
  const info = decodeSimulateValidation(version, again.data).returnInfo
  const account = parseValidationData(info.accountValidationData)
  const range = intersectTimeRanges(account, parseValidationData(info.paymasterValidationData))
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
