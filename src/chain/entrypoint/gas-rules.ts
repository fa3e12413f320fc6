import { type Hex, size } from 'viem'
import type { UserOperation } from '../userop.js'
import type { GasRules } from './types.js'

/** EntryPoint bookkeeping per op beyond the op's own limits (event, deposit accounting, loops). */
export const BUNDLE_PER_OP_OVERHEAD_GAS = 10_000n
/** v0.7+ INNER_GAS_OVERHEAD: innerHandleOp insists on this much beyond call and postOp gas. */
export const INNER_GAS_OVERHEAD = 10_000n
/** v0.6 innerHandleOp insists on callGasLimit + verificationGasLimit + this much. */
export const V06_INNER_GAS_OVERHEAD = 5_000n
/** Fixed gas of one simulateValidation outside the entities' limits (EntryPoint bookkeeping, copies). */
const SIMULATION_OVERHEAD = 300_000n

/** ceil(gas · 64 / 63): what a caller must hold so an EIP-150 call can pass `gas` on. */
function afterOneCut(gas: bigint): bigint {
  return (gas * 64n + 62n) / 63n
}

/** ceil(gas · 64² / 63²): two cuts (the call into innerHandleOp, then its own `gasleft() * 63 / 64` check). */
function afterTwoCuts(gas: bigint): bigint {
  return (gas * 4096n + 3968n) / 3969n
}

/** Memory and copying of the op's dynamic fields during simulation, generously. */
function copyCost(op: UserOperation): bigint {
  const bytes =
    size(op.callData) +
    size(op.signature) +
    (op.factoryData ? size(op.factoryData) + 20 : 0) +
    (op.paymasterData ? size(op.paymasterData) + 52 : 0) +
    (op.paymasterSignature ? size(op.paymasterSignature) + 10 : 0)
  return BigInt(bytes) * 8n
}

/**
 * v0.7, v0.8 and v0.9: every limit is separate. The most an op can use is preVerificationGas plus
 * the account's and paymaster's verification limits, the call and the postOp limit.
 */
export const PACKED_GAS_RULES: GasRules = {
  maxGas: (op) =>
    op.preVerificationGas +
    op.verificationGasLimit +
    op.callGasLimit +
    (op.paymasterVerificationGasLimit ?? 0n) +
    (op.paymasterPostOpGasLimit ?? 0n),
  requiredPrefundGas: (op) => PACKED_GAS_RULES.maxGas(op),
  executionGas: (op) =>
    op.verificationGasLimit +
    (op.paymasterVerificationGasLimit ?? 0n) +
    afterTwoCuts(op.callGasLimit + (op.paymasterPostOpGasLimit ?? 0n) + INNER_GAS_OVERHEAD) +
    BUNDLE_PER_OP_OVERHEAD_GAS,
  verificationGas: (op) => op.verificationGasLimit + (op.paymasterVerificationGasLimit ?? 0n),
  preVerificationOverhead: 0n,
  // The factory and the account may each use verificationGasLimit, the paymaster its own limit;
  // 63/64 of the gas passes down each of three call levels.
  validationGasBound: (op) =>
    ((2n * op.verificationGasLimit + (op.paymasterVerificationGasLimit ?? 0n)) * 67n) / 63n +
    SIMULATION_OVERHEAD +
    copyCost(op),
  estimated: { paymasterLimits: true, verificationCoversPostOp: false },
}

/** A v0.6 paymaster runs postOp only when its validation returned a context. */
function v06PostOpRuns(op: UserOperation, paymasterContext: Hex | undefined): boolean {
  return op.paymaster !== undefined && (paymasterContext === undefined || size(paymasterContext) > 0)
}

/**
 * v0.6: one verificationGasLimit covers the factory, the account and the paymaster's validation,
 * and is also the gas limit of each postOp call: with a paymaster that has a postOp (its validation
 * returned a context) it can be spent three times — validation, postOp inside innerHandleOp, and
 * postOp again in postOpReverted mode when the first reverted. Without a postOp it counts once.
 * The EntryPoint's own prefund formula triples it for any paymaster.
 */
export const V06_GAS_RULES: GasRules = {
  maxGas: (op, paymasterContext) =>
    op.preVerificationGas +
    op.callGasLimit +
    op.verificationGasLimit * (v06PostOpRuns(op, paymasterContext) ? 3n : 1n),
  requiredPrefundGas: (op) =>
    op.preVerificationGas + op.callGasLimit + op.verificationGasLimit * (op.paymaster ? 3n : 1n),
  // Validation, innerHandleOp (which wants callGasLimit + verificationGasLimit + 5,000 left after the
  // call's 63/64 cut and holds the first postOp), and the postOpReverted postOp outside it.
  executionGas: (op, paymasterContext) =>
    op.verificationGasLimit +
    afterOneCut(op.callGasLimit + op.verificationGasLimit + V06_INNER_GAS_OVERHEAD) +
    (v06PostOpRuns(op, paymasterContext) ? op.verificationGasLimit : 0n) +
    BUNDLE_PER_OP_OVERHEAD_GAS,
  verificationGas: (op) => op.verificationGasLimit,
  // About 1,500 gas of a one-op bundle goes unmeasured (test/chain-gas.test.ts), with a margin.
  preVerificationOverhead: 2_500n,
  // The factory, the account and the paymaster are each called with up to verificationGasLimit.
  validationGasBound: (op) => (3n * op.verificationGasLimit * 67n) / 63n + SIMULATION_OVERHEAD + copyCost(op),
  estimated: { paymasterLimits: false, verificationCoversPostOp: true },
}
