import { encodeAbiParameters, type Hex, hexToBytes, size } from 'viem'
import type { ChainSpec } from './chain-spec.js'
import { PER_AUTHORIZATION_GAS } from './eip7702.js'
import { BUNDLE_PER_OP_OVERHEAD_GAS, INNER_GAS_OVERHEAD, PACKED_GAS_RULES } from './entrypoint/gas-rules.js'
import type { GasRules } from './entrypoint/types.js'
import { PACKED_USER_OP_COMPONENTS, packUserOp, type UserOperation } from './userop.js'

export const TX_INTRINSIC_GAS = 21_000n
/** EntryPoint bookkeeping per bundle (handleOps prologue, beneficiary payment). */
export const BUNDLE_FIXED_OVERHEAD_GAS = 10_000n
export { BUNDLE_PER_OP_OVERHEAD_GAS, INNER_GAS_OVERHEAD }

/**
 * The v0.7+ gas rules as plain functions (each EntryPoint version's rules are its module's `gas`,
 * chain/entrypoint/gas-rules.ts): the gas the EntryPoint may charge an op for, every limit it sets.
 */
export function opMaxGas(op: UserOperation): bigint {
  return PACKED_GAS_RULES.maxGas(op)
}

/** The most the op can pay (its required prefund), by the version's rules (default v0.7+). */
export function opMaxCost(op: UserOperation, rules: GasRules = PACKED_GAS_RULES): bigint {
  return rules.requiredPrefundGas(op) * op.maxFeePerGas
}

/**
 * v0.7+: the gas the EntryPoint must have left when it calls innerHandleOp, or the bundle reverts
 * with "AA95 out of gas": callGasLimit + paymasterPostOpGasLimit + INNER_GAS_OVERHEAD after two
 * 63/64 cuts (EIP-150 on the call into innerHandleOp, then innerHandleOp's own `gasleft() * 63 / 64` check).
 */
export function opInnerCallGas(op: UserOperation): bigint {
  const needed = op.callGasLimit + (op.paymasterPostOpGasLimit ?? 0n) + INNER_GAS_OVERHEAD
  return (needed * 4096n + 3968n) / 3969n // ceil(needed · 64² / 63²)
}

/** v0.7+: the gas an op may use inside the bundle transaction's execution (preVerificationGas excluded). */
export function opExecutionGasLimit(op: UserOperation): bigint {
  return PACKED_GAS_RULES.executionGas(op)
}

/** Calldata gas under EIP-2028 (4 per zero byte, 16 otherwise) and the EIP-7623 floor's token count. */
export function calldataCost(data: Hex): { gas: bigint; tokens: bigint } {
  // Count with plain numbers: a bundle's calldata is tens of kilobytes, far below 2^53.
  let zeros = 0
  const bytes = hexToBytes(data)
  for (const b of bytes) if (b === 0) zeros++
  const nonZeros = bytes.length - zeros
  return { gas: BigInt(zeros * 4 + nonZeros * 16), tokens: BigInt(zeros + nonZeros * 4) }
}

/**
 * The bundle transaction's gas limit: intrinsic and calldata gas plus each op's execution limits,
 * and never less than the EIP-7623 calldata floor (10 gas per token).
 */
export function bundleGasLimit(
  ops: readonly UserOperation[],
  calldata: Hex,
  executionGas: (op: UserOperation) => bigint = opExecutionGasLimit,
): bigint {
  const data = calldataCost(calldata)
  let execution = BUNDLE_FIXED_OVERHEAD_GAS
  for (const op of ops) execution += executionGas(op)
  const standard = TX_INTRINSIC_GAS + data.gas + execution
  const floor = TX_INTRINSIC_GAS + data.tokens * 10n
  return standard > floor ? standard : floor
}

/** The v0.7+ op as it is encoded inside handleOps calldata (the ABI tuple), used for its calldata share. */
export function encodedOpForCalldata(op: UserOperation): Hex {
  return encodeAbiParameters([{ type: 'tuple', components: PACKED_USER_OP_COMPONENTS }], [packUserOp(op)])
}

const PVG_FIELD_WORST_CASE = 0xffffffffn
const allNonZero = (data: Hex): Hex => `0x${'ff'.repeat(size(data))}`

/**
 * The op as the bundle will carry it, with the preVerificationGas field, the signature and the
 * paymaster data (which usually carries the paymaster's signature) priced as if every byte were
 * non-zero, so the requirement does not move when the op gets its final PVG and signatures.
 */
export function pvgEncoding(
  op: UserOperation,
  encode: (op: UserOperation) => Hex = encodedOpForCalldata,
): Hex {
  return encode({
    ...op,
    preVerificationGas: PVG_FIELD_WORST_CASE,
    signature: allNonZero(op.signature),
    ...(op.paymasterData !== undefined ? { paymasterData: allNonZero(op.paymasterData) } : {}),
    ...(op.paymasterSignature !== undefined ? { paymasterSignature: allNonZero(op.paymasterSignature) } : {}),
  })
}

/**
 * The least preVerificationGas an op must carry: its share of the transaction's fixed cost, the
 * per-op overhead, the calldata it adds to the bundle at EIP-2028 prices, and its EIP-7702
 * authorization's intrinsic gas. Where the chain has EIP-7623 (Prague), never less than its share of
 * the calldata floor: the fixed share plus the floor price of its bytes (the authorization's gas is
 * intrinsic, on the standard side of the floor's max). (Rundler credits part of the op's execution
 * gas against the floor; Conveyor credits none, so an op that uses little gas cannot leave the
 * bundler paying the floor.) The L1 data fee of an L2 is added by the caller (chain/da/da-gas.ts).
 */
export function requiredPreVerificationGas(
  op: UserOperation,
  spec: ChainSpec,
  /** How the op's EntryPoint encodes it in handleOps (the module's encodedOpForCalldata); default v0.7+. */
  encode: (op: UserOperation) => Hex = encodedOpForCalldata,
  /** The version's unmeasured per-op gas (its module's gas.preVerificationOverhead). */
  overhead = 0n,
): bigint {
  const encoded = pvgEncoding(op, encode)
  const words = BigInt(Math.ceil(size(encoded) / 32))
  const fixedShare = spec.pvg.fixed / spec.pvg.expectedBundleSize
  const standard =
    fixedShare +
    spec.pvg.perUserOp +
    overhead +
    spec.pvg.perUserOpWord * words +
    calldataCost(encoded).gas +
    // EIP-7702: the type-4 bundle pays its authorization's intrinsic gas; the op's PVG carries it.
    (op.eip7702Auth ? PER_AUTHORIZATION_GAS : 0n)
  if (!spec.eip7623?.enabled) return standard
  const floor = fixedShare + calldataFloorGas(encoded, spec.eip7623)
  return floor > standard ? floor : standard
}

/** EIP-7623's floor price of calldata: per zero and per non-zero byte (10 and 40 gas on Prague). */
export function calldataFloorGas(
  data: Hex,
  prices: { floorZeroByteGas: bigint; floorNonZeroByteGas: bigint },
): bigint {
  let zeros = 0
  const bytes = hexToBytes(data)
  for (const b of bytes) if (b === 0) zeros++
  return BigInt(zeros) * prices.floorZeroByteGas + BigInt(bytes.length - zeros) * prices.floorNonZeroByteGas
}
