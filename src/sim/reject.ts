import type { Hex } from 'viem'
import {
  aaCode,
  aaRpcCode,
  type DecodedRevert,
  decodeRevert,
  describeRevert,
  revertReason,
} from '../chain/revert.js'
import { RpcCode, RpcError } from '../util/errors.js'
import type { SimSettings } from './settings.js'
import type { ValidationResult } from './types.js'

/**
 * Admission rejections as ERC-4337 JSON-RPC errors. The mapping follows revert.ts's ERC-7769
 * table with one deviation the admission issue asks for: AA21 ("didn't pay prefund") is an
 * insufficient-funds rejection, reported like a low paymaster deposit (-32508).
 */
export function simulationRpcCode(aa: string): number {
  if (aa === 'AA21') return RpcCode.PaymasterDepositTooLow
  return aaRpcCode(aa)
}

/** The RpcError for a reverted simulateValidation. */
export function rejectionForRevert(revert: Hex): RpcError {
  const decoded = decodeRevert(revert)
  return rejectionForDecoded(decoded, revert)
}

export function rejectionForDecoded(decoded: DecodedRevert, revert: Hex): RpcError {
  const data = { revertData: revert }
  if (decoded.kind === 'SignatureValidationFailed')
    return new RpcError(RpcCode.InvalidSignature, describeRevert(decoded), data)
  const reason = revertReason(decoded)
  const aa = reason === undefined ? undefined : aaCode(reason)
  if (aa !== undefined)
    return new RpcError(simulationRpcCode(aa), describeRevert(decoded), { ...data, reason })
  return new RpcError(RpcCode.RejectedByEpOrAccount, `validation reverted: ${describeRevert(decoded)}`, data)
}

/**
 * What a successful simulation can still be refused for: a failed signature (-32507), an aggregator
 * Conveyor does not serve (-32506, `--aggregators`) or one that is not staked (-32505, ERC-7766:
 * every aggregator must be), or a validity range that is not yet open or closes within the margin
 * (-32503). `now` is unix seconds; `nextBlock` the first block the op could be included in (v0.9
 * block-number ranges are compared with it, never with a timestamp).
 */
export function checkValidationOutcome(
  r: ValidationResult,
  now: bigint,
  settings: Pick<SimSettings, 'validUntilMarginSec' | 'supportedAggregators'> &
    Partial<Pick<SimSettings, 'validUntilMarginBlocks'>>,
  nextBlock?: bigint,
): void {
  // v0.6 reports one signature failure for both: with a paymaster, either may have failed.
  if (r.accountSigFailed && r.paymasterSigFailed)
    throw new RpcError(RpcCode.InvalidSignature, 'invalid account or paymaster signature')
  if (r.accountSigFailed) throw new RpcError(RpcCode.InvalidSignature, 'invalid account signature')
  if (r.paymasterSigFailed) throw new RpcError(RpcCode.InvalidSignature, 'invalid paymaster signature')
  const agg = r.aggregator
  if (agg && !settings.supportedAggregators.some((a) => a.toLowerCase() === agg.address.toLowerCase()))
    throw new RpcError(RpcCode.UnsupportedAggregator, `aggregator ${agg.address} is not supported`, {
      aggregator: agg.address,
    })
  if (agg && !agg.stake.isStaked)
    throw new RpcError(
      RpcCode.StakeTooLow,
      `aggregator ${agg.address} is not staked (stake ${agg.stake.stake} wei, unstake delay ${agg.stake.unstakeDelaySec} s)`,
      { aggregator: agg.address },
    )
  if (r.validAfter > now)
    throw new RpcError(RpcCode.ShortDeadline, `op is not valid until ${r.validAfter} (now ${now})`, {
      validAfter: r.validAfter.toString(),
    })
  if (r.validUntil !== 0n && r.validUntil < now + settings.validUntilMarginSec) {
    const what = r.validUntil <= now ? 'expired' : `expires within ${settings.validUntilMarginSec} s`
    throw new RpcError(RpcCode.ShortDeadline, `op ${what} (validUntil ${r.validUntil}, now ${now})`, {
      validUntil: r.validUntil.toString(),
    })
  }
  if (r.validAfterBlock !== undefined || r.validUntilBlock !== undefined)
    checkBlockRange(
      r.validAfterBlock ?? 0n,
      r.validUntilBlock ?? 0n,
      nextBlock,
      settings.validUntilMarginBlocks ?? 0n,
    )
}

/** v0.9 block ranges: valid in blocks after validAfterBlock, up to validUntilBlock (0: no end). */
function checkBlockRange(after: bigint, until: bigint, nextBlock: bigint | undefined, margin: bigint): void {
  if (nextBlock === undefined) throw new Error('a block-range op was checked without the next block number')
  if (nextBlock <= after)
    throw new RpcError(
      RpcCode.ShortDeadline,
      `op is not valid until after block ${after} (next block ${nextBlock})`,
      {
        validAfterBlock: after.toString(),
      },
    )
  if (until !== 0n && until < nextBlock + margin) {
    const what = until < nextBlock ? 'expired' : `expires within ${margin} blocks`
    throw new RpcError(
      RpcCode.ShortDeadline,
      `op ${what} (validUntilBlock ${until}, next block ${nextBlock})`,
      {
        validUntilBlock: until.toString(),
      },
    )
  }
}
