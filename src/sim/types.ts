import type { Address, Block, Hash, Hex } from 'viem'
import type { StateOverrideSet } from '../chain/entrypoint/types.js'
import type { UserOperation } from '../chain/userop.js'
import type { RpcError } from '../util/errors.js'

export interface StakeInfo {
  address: Address
  stake: bigint
  unstakeDelaySec: bigint
  /** stake ≥ min_stake_value and unstake delay ≥ min_unstake_delay */
  isStaked: boolean
}

/** What validation of one op found; the pool keeps it and the builder re-checks against it. */
export interface ValidationResult {
  preOpGas: bigint
  prefund: bigint
  /**
   * The time range the account and paymaster gave, intersected: unix seconds; 0 for validUntil
   * means no expiry. An op is valid after validAfter and until validUntil.
   */
  validAfter: bigint
  validUntil: bigint
  /**
   * v0.9: the block-number range, when the account or the paymaster gave one (intersected); the
   * op can only be included in a block after validAfterBlock and up to validUntilBlock (0: no end).
   */
  validAfterBlock?: bigint
  validUntilBlock?: bigint
  accountSigFailed: boolean
  paymasterSigFailed: boolean
  paymasterContext: Hex
  sender: StakeInfo
  factory?: StakeInfo
  paymaster?: StakeInfo
  /**
   * The aggregator the account named (ERC-7766), with the `sigForUserOp` its
   * validateUserOpSignature returned at admission: the op carries that signature in a bundle.
   */
  aggregator?: { address: Address; stake: StakeInfo; sigForUserOp?: Hex }
  /** Block the simulation ran at. */
  blockNumber: bigint
  blockHash: Hash
  /** keccak of the code of every entity and contract validation touched, to require them unchanged. */
  codeHashes: Record<Address, Hash>
  /** Storage validation read, per account: slot → value (for conditional submission and STO rules). */
  accessedStorage: Record<Address, Record<Hex, Hex>>
}

export interface ValidateOptions {
  /** Simulate at this block (the builder's second simulation pins one block for the whole bundle). */
  blockNumber?: bigint
  /**
   * Run the admission prechecks (fields, deployment, gas caps, fees, preVerificationGas). Default:
   * true when no block is pinned (admission), false when one is (the builder's re-simulation, where
   * fees are the builder's own filter).
   */
  precheck?: boolean
  /**
   * Reads shared by the simulations of one bundle at one block (the block, each contract's code),
   * so they are fetched once; see BlockReads. Without it every call reads afresh.
   */
  reads?: ChainReads
}

/** The block and code reads a simulation needs, possibly shared across the ops of one bundle. */
export interface ChainReads {
  block(blockNumber: bigint): Promise<Block>
  code(address: Address, blockNumber: bigint): Promise<Hex>
}

/** Options of Validator.validateMany: those of validate, for every op. */
export interface ValidateManyOptions extends ValidateOptions {
  /** Simulations in flight when each op needs a call of its own (a tracer is in use). */
  concurrency?: number
}

/** One op's validation among many: its result, or the RpcError validate would have thrown. */
export type ValidationOutcome = { ok: true; result: ValidationResult } | { ok: false; error: RpcError }

/** Validates one op against one EntryPoint; throws RpcError with the ERC-4337 code on rejection. */
export interface Validator {
  validate(entryPoint: Address, op: UserOperation, opts?: ValidateOptions): Promise<ValidationResult>
  /**
   * The ops' validations at one block, each on its own (no op sees another's state changes), one
   * outcome per op in order. Throws only what validate would throw other than RpcError (node trouble).
   */
  validateMany?(
    entryPoint: Address,
    ops: readonly UserOperation[],
    opts?: ValidateManyOptions,
  ): Promise<ValidationOutcome[]>
}

/** A user operation as eth_estimateUserOperationGas receives it: gas fields may be missing. */
export type UserOperationDraft = Omit<
  UserOperation,
  'callGasLimit' | 'verificationGasLimit' | 'preVerificationGas' | 'maxFeePerGas' | 'maxPriorityFeePerGas'
> &
  Partial<
    Pick<
      UserOperation,
      'callGasLimit' | 'verificationGasLimit' | 'preVerificationGas' | 'maxFeePerGas' | 'maxPriorityFeePerGas'
    >
  >

export interface GasEstimate {
  preVerificationGas: bigint
  verificationGasLimit: bigint
  callGasLimit: bigint
  paymasterVerificationGasLimit?: bigint
  paymasterPostOpGasLimit?: bigint
}

/** State overrides as eth_call takes them (the third parameter), passed through from the RPC. */
export type { StateOverrideSet }

export interface GasEstimator {
  estimate(
    entryPoint: Address,
    op: UserOperationDraft,
    stateOverride?: StateOverrideSet,
  ): Promise<GasEstimate>
}
