import { type Address, getAddress, type Hash, type Hex } from 'viem'
import { factoryEntity } from '../chain/eip7702.js'
import type { ValidationData, ValidityClock } from '../chain/entrypoint/types.js'
import type { UserOperation } from '../chain/userop.js'
import type { SimSettings } from './settings.js'
import type { RawStakeInfo, RawValidationResult } from './sim-call.js'
import type { StakeInfo, ValidationResult } from './types.js'
import { hasAggregator, intersectTimeRanges, parseValidationData } from './validation-data.js'

export function stakeInfo(
  address: Address,
  raw: RawStakeInfo,
  settings: Pick<SimSettings, 'minStakeValue' | 'minUnstakeDelaySec'>,
): StakeInfo {
  return {
    address: getAddress(address),
    stake: raw.stake,
    unstakeDelaySec: raw.unstakeDelaySec,
    isStaked: raw.stake >= settings.minStakeValue && raw.unstakeDelaySec >= settings.minUnstakeDelaySec,
  }
}

export interface SimulationContext {
  blockNumber: bigint
  blockHash: Hash
  codeHashes: Record<Address, Hash>
  accessedStorage: Record<Address, Record<Hex, Hex>>
}

const OPEN: Pick<ValidationData, 'validAfter' | 'validUntil'> = { validAfter: 0n, validUntil: 0n }

/** The account's and the paymaster's ranges on one clock, intersected (undefined: neither used it). */
function rangeOn(clock: ValidityClock, ...data: ValidationData[]) {
  const on = data.filter((d) => d.clock === clock)
  if (on.length === 0) return undefined
  return on.reduce<Pick<ValidationData, 'validAfter' | 'validUntil'>>(
    (a, b) => intersectTimeRanges(a, b),
    OPEN,
  )
}

/**
 * The decoded simulateValidation result in Conveyor's terms (pure). `parse` reads validationData
 * as the op's EntryPoint does (its module's parseValidationData; v0.9 knows block ranges).
 */
export function toValidationResult(
  op: UserOperation,
  raw: RawValidationResult,
  ctx: SimulationContext,
  settings: Pick<SimSettings, 'minStakeValue' | 'minUnstakeDelaySec'>,
  parse: (data: bigint) => ValidationData = parseValidationData,
): ValidationResult {
  const account = parse(raw.returnInfo.accountValidationData)
  const paymaster = parse(raw.returnInfo.paymasterValidationData)
  const range = rangeOn('timestamp', account, paymaster) ?? OPEN
  const blocks = rangeOn('block', account, paymaster)
  const result: ValidationResult = {
    preOpGas: raw.returnInfo.preOpGas,
    prefund: raw.returnInfo.prefund,
    validAfter: range.validAfter,
    validUntil: range.validUntil,
    accountSigFailed: account.sigFailed,
    // A paymaster's validationData has no aggregator: any non-zero address there is a failure.
    paymasterSigFailed: paymaster.sigFailed || hasAggregator(paymaster),
    paymasterContext: raw.returnInfo.paymasterContext,
    sender: stakeInfo(op.sender, raw.senderInfo, settings),
    blockNumber: ctx.blockNumber,
    blockHash: ctx.blockHash,
    codeHashes: ctx.codeHashes,
    accessedStorage: ctx.accessedStorage,
  }
  if (blocks) {
    result.validAfterBlock = blocks.validAfter
    result.validUntilBlock = blocks.validUntil
  }
  // The 7702 marker is no factory (the EntryPoint reports no factory stake for it).
  const factory = factoryEntity(op)
  if (factory) result.factory = stakeInfo(factory, raw.factoryInfo, settings)
  if (op.paymaster) result.paymaster = stakeInfo(op.paymaster, raw.paymasterInfo, settings)
  if (hasAggregator(account)) {
    const address = getAddress(raw.aggregatorInfo.aggregator)
    result.aggregator = { address, stake: stakeInfo(address, raw.aggregatorInfo.stakeInfo, settings) }
  }
  return result
}
