import type { Address, Hash, Hex, SignedAuthorization } from 'viem'
import type { EntryPointVersion } from '../chain/entrypoint.js'
import type { Fees } from '../chain/fee-math.js'
import type { EntityUpdate, PoolOp } from '../pool/types.js'

/** Ops that share one aggregator (undefined: plain handleOps). */
export interface OpGroup {
  aggregator?: Address
  ops: PoolOp[]
  /** The aggregated signature, for a group with an aggregator. */
  signature?: Hex
  /** Gas the aggregator's validateSignatures takes in handleAggregatedOps (the bundler pays it). */
  validationGas?: bigint
}

/** The transaction request of a bundle; the nonce is the tracker's to set. */
export interface BundleTx extends Fees {
  to: Address
  data: Hex
  gas: bigint
  /** The ops' EIP-7702 authorizations: present (non-empty) makes the bundle a type-4 transaction. */
  authorizationList?: SignedAuthorization[]
}

export interface Bundle {
  entryPoint: Address
  version: EntryPointVersion
  groups: OpGroup[]
  tx: BundleTx
  /** Block the second simulation and the handleOps check ran at. */
  blockNumber: bigint
  /** Storage the ops' validation read (account → slot → value), for conditional submission. */
  expectedStorage: Record<Address, Record<Hex, Hex>>
}

export type SkipReason =
  | 'fee_too_low'
  | 'gas_cap'
  /** The bundle's gas limit reached its share of the block (BlockShare): it waits for the next bundle. */
  | 'block_share'
  | 'sender_in_bundle'
  | 'touches_other_sender'
  | 'paymaster_deposit'
  | 'balance_cap'
  | 'bundle_size'
  /** Left out untried after a bundle revert that named no op, until the op causing it was found. */
  | 'behind_unnamed_revert'
  /** Its EIP-7702 authorization waits for (or is about to be consumed by) the authority's own pending transaction. */
  | 'authorization_pending'
  /** On an L2: its preVerificationGas no longer covers its share of the L1 data fee (it waits). */
  | 'l1_fee_not_covered'

export interface SkippedOp {
  hash: Hash
  reason: SkipReason
}

export interface RejectedOp {
  hash: Hash
  /** Why the op left the pool: the AA code and message, or what changed since admission. */
  reason: string
}

/** Why a proposal holds no bundle; the sender's state machine acts on these. */
export type NoBundleReason =
  | 'no_ops' // the pool had nothing for this shard
  | 'priced_out' // ops exist but none pays the (possibly raised) bundle fees
  | 'all_rejected' // every candidate failed simulation or the handleOps check
  | 'unprofitable'
  | 'insufficient_balance'

export interface ProposalReport {
  skipped: SkippedOp[]
  rejected: RejectedOp[]
  entityUpdates: EntityUpdate[]
  fees: Fees
  baseFee: bigint
}

export type Proposal = ({ kind: 'bundle'; bundle: Bundle } | { kind: 'none'; reason: NoBundleReason }) &
  ProposalReport

export function bundleOps(bundle: Bundle): PoolOp[] {
  return bundle.groups.flatMap((g) => g.ops)
}
