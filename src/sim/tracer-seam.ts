import type { Address, Hash, Hex } from 'viem'
import type { UserOperation } from '../chain/userop.js'
import type { CallOutcome, SimulationCall } from './sim-call.js'
import type { Prestate } from './tracer/native/replay-state.js'
import type { ChainReads, ValidationResult } from './types.js'

/**
 * The seam for ERC-7562 validation rules (a later issue), designed so the tracer plugs into the
 * Simulator without reshaping it:
 *
 * - Without a tracer, the Simulator eth_calls the EntryPoint's simulateValidation as its version's
 *   module says (v0.6 on the EntryPoint itself, v0.7+ with the EntryPointSimulations code override:
 *   a `SimulationCall`, which also carries the op and the version's phase selectors) and decodes
 *   the outcome with the module (v0.6's outcome is a revert carrying ValidationResult).
 * - With a `ValidationTracer`, the Simulator hands it the very same `SimulationCall` (same calldata,
 *   same pinned block, same state override). The tracer runs `debug_traceCall` with its JS tracer and
 *   the override in the tracer config, and returns both the call's own `outcome` (so no second
 *   eth_call is needed) and what it observed, split by validation phase.
 * - The Simulator decodes `outcome` exactly as in the plain path, builds the ValidationResult
 *   (stake infos are needed by the rules: staked entities may do more), then asks the
 *   `RuleChecker` for violations. The first violation is thrown as an RpcError with its code
 *   (-32502 banned opcode, -32505 stake too low, ...). The trace's storage reads become
 *   `accessedStorage` and its code hashes join `codeHashes`, which the builder re-checks.
 */

/** ERC-7562's validation phases: factory deployment, account validation, paymaster validation. */
export type ValidationPhase = 'factory' | 'account' | 'paymaster'

export interface TracedCall {
  type: 'CALL' | 'DELEGATECALL' | 'STATICCALL' | 'CALLCODE' | 'CREATE' | 'CREATE2'
  from: Address
  to: Address
  /** First four bytes of the input (or '0x'). */
  method: Hex
  value: bigint
  gas: bigint
  reverted: boolean
}

export interface StorageAccess {
  /** slot → value first read (the value validation depended on). */
  reads: Record<Hex, Hex>
  /** slots written. */
  writes: Hex[]
  /** slots accessed via TLOAD/TSTORE. */
  transient: Hex[]
}

export interface PhaseTrace {
  phase: ValidationPhase
  /** The entity whose code this phase runs (factory, sender, paymaster). */
  entity: Address
  /** Opcode name → count, as executed by anything in this phase (the tracer excludes the EntryPoint). */
  opcodes: Record<string, number>
  /** Storage touched in this phase, per contract address. */
  storage: Record<Address, StorageAccess>
  calls: TracedCall[]
  /** EXTCODE* / CALL targets whose code was looked at: address → code size at the time. */
  codeAccess: Record<Address, { opcode: string; codeSize: number }>
  /** keccak256 inputs seen (for associated-storage slots, ERC-7562 STO-021). */
  keccakInputs: Hex[]
  outOfGas: boolean
}

export interface ValidationTrace {
  /** simulateValidation's own result, exactly what the plain eth_call would have returned. */
  outcome: CallOutcome
  phases: PhaseTrace[]
  /** keccak of the code of every contract validation touched, at the simulation block. */
  codeHashes: Record<Address, Hash>
  /** Every storage slot read during validation and its value, per contract. */
  storageReads: Record<Address, Record<Hex, Hex>>
}

/** What a trace source may reuse from its caller. */
export interface TraceOptions {
  /** The simulation's block and code reads, shared with the prechecks (the block header). */
  reads?: ChainReads
  /**
   * The node's own outcome of this very call when the caller already has it (the bundle's batched
   * re-simulation): a source that confirms against the node need not call again.
   */
  nodeOutcome?: CallOutcome | Promise<CallOutcome>
  /**
   * The state at the block of every account and slot this call reads, when the caller has it (the
   * union pre-state of the bundle's batched call): a source that replays need not ask again.
   */
  prestate?: Prestate
}

/**
 * A source of ERC-7562 traces: the node's JS tracer, or the node's native pre-state replayed
 * in-process (tracer/native/). Every source returns the same ValidationTrace; one rule checker
 * judges them all. A source that cannot vouch for its trace throws (never a partial trace).
 */
export interface ValidationTracer {
  /** 'js' | 'native' | a composition of them, for logs and metrics. */
  readonly name?: string
  /** True when the source confirms against the node's outcome (TraceOptions.nodeOutcome helps). */
  readonly usesNodeOutcome?: boolean
  trace(call: SimulationCall, opts?: TraceOptions): Promise<ValidationTrace>
}

export interface RuleContext {
  entryPoint: Address
  op: UserOperation
  /** The decoded result (stake infos decide what staked entities may do). */
  result: ValidationResult
}

export interface RuleViolation {
  /** The ERC-4337 JSON-RPC code to reject with (e.g. -32502, -32505). */
  code: number
  /** The ERC-7562 rule id, e.g. 'OP-011', 'STO-021'. */
  rule: string
  entity?: { kind: ValidationPhase | 'aggregator'; address: Address }
  message: string
}

export interface RuleChecker {
  check(trace: ValidationTrace, ctx: RuleContext): RuleViolation[]
}
