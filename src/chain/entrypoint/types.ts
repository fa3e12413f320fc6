import type { Abi, Address, Hash, Hex } from 'viem'
import type { Artifact } from '../artifacts.js'
import type { EntryPointVersion } from '../entrypoint.js'
import type { UserOperation } from '../userop.js'

/**
 * What one EntryPoint version does its own way. The rest of Conveyor holds ops in the one
 * `UserOperation` shape and asks the module of the op's EntryPoint (registry.ts) whenever the
 * version matters: the RPC for the op's wire shape, the pool for its hash, simulation for its
 * calls and their decoding, the builder for the handleOps encoding and the gas rules.
 */
export interface EntryPointModule {
  readonly version: EntryPointVersion
  readonly address: Address
  /** The EntryPoint's ABI (handleOps, getNonce, balanceOf, getDepositInfo, getUserOpHash, events). */
  readonly abi: Abi
  /** The op's JSON-RPC shape (rpc/op-shapes.ts has a codec per shape). */
  readonly opShape: OpShape
  /** An artifact of this version's npm package (SimpleAccount, SimpleAccountFactory, IAggregator, …). */
  artifact(name: string): Artifact

  /** The userOpHash as this EntryPoint's getUserOpHash computes it. */
  hash(op: UserOperation, chainId: number): Hash
  /** The op as this EntryPoint's ABI takes it (handleOps, simulateValidation, aggregateSignatures). */
  toAbi(op: UserOperation): unknown
  /** handleOps, or handleAggregatedOps when a group has an aggregator. */
  encodeBundle(groups: readonly AbiOpGroup[], beneficiary: Address): Hex
  /** The ops of handleOps / handleAggregatedOps calldata to this EntryPoint; undefined for other calldata. */
  decodeBundle(data: Hex): UserOperation[] | undefined
  /** The op as encoded inside handleOps calldata (its share of a bundle's calldata, for preVerificationGas). */
  encodedOpForCalldata(op: UserOperation): Hex

  /**
   * An op naming a factory for a sender that already has code: v0.6–v0.8 refuse it (AA10), v0.9
   * ignores the initCode (it still counts in the hash).
   */
  readonly factoryWithDeployedSender: 'reject' | 'ignore'
  /** validationData as this EntryPoint reads it (v0.9: block-number ranges when the high bits are set). */
  parseValidationData(data: bigint): ValidationData
  readonly gas: GasRules
  readonly simulation: SimulationSurface
  /**
   * EIP-7702 ops (factory = the 0x7702 marker, the hash over the delegate, an `eip7702Auth` carried
   * into a type-4 bundle): v0.8 and v0.9.
   */
  readonly eip7702: boolean
}

/** Ops under one aggregator (none: plain handleOps) with the aggregated signature. */
export interface AbiOpGroup {
  aggregator?: Address
  signature?: Hex
  ops: readonly UserOperation[]
}

/** The wire shapes of ops: v0.6's packed initCode/paymasterAndData, v0.7+'s unpacked fields (v0.9 adds paymasterSignature). */
export type OpShape = 'v0.6' | 'v0.7' | 'v0.9'

/** When an op's validity range is counted in: block timestamps, or (v0.9) block numbers. */
export type ValidityClock = 'timestamp' | 'block'

export interface ValidationData {
  /** address(0): valid signature; address(1): signature failed; anything else: an aggregator. */
  aggregator: Address
  sigFailed: boolean
  clock: ValidityClock
  /** The op is valid after this (exclusive in v0.9, inclusive before): seconds or a block number. */
  validAfter: bigint
  /** Last second or block the op is valid in; 0 means no expiry. */
  validUntil: bigint
}

/**
 * The gas an op may take, per version. `paymasterContext` is what validation returned for the
 * paymaster (undefined before simulation: the worst case is assumed).
 */
export interface GasRules {
  /**
   * The seed's "maximum gas usage" of an op, summed against the bundle gas cap: preVerificationGas
   * and every limit the EntryPoint may spend. v0.6 spends verificationGasLimit up to three times
   * (validation, postOp, postOp again after a revert) when the paymaster has a postOp to run.
   */
  maxGas(op: UserOperation, paymasterContext?: Hex): bigint
  /** The prefund the EntryPoint requires (its own formula: v0.6 triples the limit for any paymaster). */
  requiredPrefundGas(op: UserOperation): bigint
  /** The gas an op may use inside the bundle transaction's execution (preVerificationGas excluded). */
  executionGas(op: UserOperation, paymasterContext?: Hex): bigint
  /** Verification gas counted against max_verification_gas. */
  verificationGas(op: UserOperation): bigint
  /**
   * Gas of handleOps the EntryPoint spends on an op without charging it, beyond the chain's per-op
   * preVerificationGas overhead: preVerificationGas must cover it too (v0.6 measures less of its
   * own bookkeeping than v0.7+, test/chain-gas.test.ts shows by how much).
   */
  readonly preVerificationOverhead: bigint
  /** A bound on simulateValidation's gas for one op (the simulation batch reserves this much). */
  validationGasBound(op: UserOperation): bigint
  /**
   * What estimation searches: the verification limits it fills in, and whether the one
   * verificationGasLimit must also cover the paymaster's postOp (v0.6).
   */
  readonly estimated: {
    paymasterLimits: boolean
    verificationCoversPostOp: boolean
  }
}

/** State overrides as eth_call takes them (the third parameter). */
export type StateOverrideSet = Record<
  Address,
  { balance?: Hex; nonce?: Hex; code?: Hex; state?: Record<Hex, Hex>; stateDiff?: Record<Hex, Hex> }
>

export type CallOutcome = { ok: true; data: Hex } | { ok: false; revert: Hex }

/** What simulateValidation found, in the v0.7 EntryPointSimulations' terms (v0.6 is translated). */
export interface RawValidationResult {
  returnInfo: {
    preOpGas: bigint
    prefund: bigint
    accountValidationData: bigint
    paymasterValidationData: bigint
    paymasterContext: Hex
  }
  senderInfo: RawStakeInfo
  factoryInfo: RawStakeInfo
  paymasterInfo: RawStakeInfo
  aggregatorInfo: { aggregator: Address; stakeInfo: RawStakeInfo }
}
export interface RawStakeInfo {
  stake: bigint
  unstakeDelaySec: bigint
}

export interface RawExecutionResult {
  preOpGas: bigint
  paid: bigint
  targetSuccess: boolean
  targetResult: Hex
}

/** A simulation's outcome once decoded: the result, or the revert that rejects the op. */
export type Decoded<T> = { ok: true; result: T } | { ok: false; revert: Hex }

/** The reads a simulation surface may need (the code it copies into an override). */
export interface CodeReader {
  code(address: Address, blockNumber: bigint): Promise<Hex>
}

/**
 * How a version simulates: v0.6 calls the EntryPoint's own simulateValidation / simulateHandleOp,
 * which always revert with their result; v0.7+ call EntryPointSimulations' code placed at the
 * EntryPoint by state override, which returns it.
 */
export interface SimulationSurface {
  /** What every simulation call to the EntryPoint needs placed (v0.7+: EntryPointSimulations' code). */
  readonly stateOverride: StateOverrideSet
  /** simulateValidation calldata, to the EntryPoint. */
  validation(op: UserOperation): Hex
  /** The outcome of `validation(op)` for the same op. */
  decodeValidation(outcome: CallOutcome, op: UserOperation): Decoded<RawValidationResult>
  /** simulateHandleOp calldata, to the EntryPoint. */
  handleOp(op: UserOperation, target: Address, targetCallData: Hex): Hex
  decodeHandleOp(outcome: CallOutcome): Decoded<RawExecutionResult>
  /**
   * simulateHandleOp's target call that runs `data` in the EntryPoint's own context and reverts
   * with DelegateAndRevert(success, result): the target address, its calldata, and the overrides it
   * needs (v0.6 has no delegateAndRevert: a proxy in front of the EntryPoint's code provides it).
   */
  delegateAndRevert(
    target: Address,
    data: Hex,
    at: { reads: CodeReader; blockNumber: bigint },
  ): Promise<{ to: Address; data: Hex; stateOverride: StateOverrideSet }>
  /** The EntryPoint's deposits(account) slot and how to write a deposit into it (estimation overrides). */
  depositSlot(account: Address): Hex
  depositValue(amount: bigint): Hex
  /** The calls that open an ERC-7562 validation phase (the tracer splits the trace by them). */
  readonly phaseSelectors: { createSender: Hex; validateUserOp: Hex; validatePaymasterUserOp: Hex }
  /** calldata of the account's execution as the EntryPoint makes it (v0.7+: executeUserOp for IAccountExecute). */
  executionCallData(op: UserOperation, chainId: number): Hex
}
