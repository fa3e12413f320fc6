import { type Hex, isAddress, isHex } from 'viem'
import { delegateOf, isEip7702Op } from '../chain/eip7702.js'
import { PACKED_GAS_RULES } from '../chain/entrypoint/gas-rules.js'
import type { EntryPointModule } from '../chain/entrypoint/types.js'
import {
  BUNDLE_FIXED_OVERHEAD_GAS,
  BUNDLE_PER_OP_OVERHEAD_GAS,
  requiredPreVerificationGas,
} from '../chain/gas.js'
import type { UserOperation } from '../chain/userop.js'
import { RpcCode, RpcError } from '../util/errors.js'
import { minBig } from './bigmath.js'
import type { SimSettings } from './settings.js'

/**
 * Cheap admission rules that need no simulation, as pure functions of the op, a little chain state
 * (read by `readPrecheckState`) and the settings. Each failure is an RpcError -32602 whose `data.rule`
 * names the rule, so clients and tests can tell them apart.
 */

/** What the rules need from the chain, read at (about) the same block as the simulation. */
export interface PrecheckState {
  senderCode: Hex
  /** Present when the op names a factory. */
  factoryCode?: Hex
  /** Present when the op names a paymaster. */
  paymasterCode?: Hex
  baseFee: bigint
  blockGasLimit: bigint
  /** On an L2: the op's share of the L1 data fee as gas at its price (chain/da/da-gas.ts). */
  daGas?: bigint
}

export type PrecheckRule =
  | 'field'
  | 'factoryWithDeployedSender'
  | 'senderNotDeployed'
  | 'senderNotDelegated'
  | 'factoryNotDeployed'
  | 'paymasterNotDeployed'
  | 'verificationGasTooHigh'
  | 'opGasTooHigh'
  | 'maxFeeTooLow'
  | 'priorityFeeTooLow'
  | 'priorityAboveMaxFee'
  | 'preVerificationGasTooLow'

export class PrecheckError extends RpcError {
  constructor(
    readonly rule: PrecheckRule,
    message: string,
    extra: Record<string, unknown> = {},
  ) {
    super(RpcCode.InvalidParams, message, { rule, ...stringifyBigints(extra) })
    this.name = 'PrecheckError'
  }
}

function stringifyBigints(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : v]))
}

const U256_MAX = (1n << 256n) - 1n
/** The EntryPoint refuses any gas or fee value above uint120 (AA94), although they pack as uint128. */
const U120_MAX = (1n << 120n) - 1n

const hasCode = (code: Hex | undefined): boolean => code !== undefined && code !== '0x' && code.length > 2

/** Field shapes: 20-byte addresses, well-formed hex, values within their packed widths. */
export function checkFields(op: UserOperation): void {
  const addresses: [string, unknown][] = [
    ['sender', op.sender],
    ['factory', op.factory],
    ['paymaster', op.paymaster],
  ]
  for (const [name, value] of addresses) {
    if (value === undefined && name !== 'sender') continue
    if (typeof value !== 'string' || !isAddress(value, { strict: false }))
      throw new PrecheckError('field', `${name} must be a 20-byte address`, { field: name })
  }
  const bytes: [string, unknown][] = [
    ['callData', op.callData],
    ['signature', op.signature],
    ['factoryData', op.factoryData],
    ['paymasterData', op.paymasterData],
    ['paymasterSignature', op.paymasterSignature],
  ]
  for (const [name, value] of bytes) {
    if (value === undefined && name !== 'callData' && name !== 'signature') continue
    if (typeof value !== 'string' || !isHex(value, { strict: true }) || value.length % 2 !== 0)
      throw new PrecheckError('field', `${name} must be hex bytes`, { field: name })
  }
  if (op.factoryData !== undefined && op.factoryData !== '0x' && op.factory === undefined)
    throw new PrecheckError('field', 'factoryData without factory', { field: 'factoryData' })
  if (op.paymaster === undefined) {
    for (const name of [
      'paymasterVerificationGasLimit',
      'paymasterPostOpGasLimit',
      'paymasterData',
      'paymasterSignature',
    ] as const) {
      const v = op[name]
      if (v !== undefined && v !== 0n && v !== '0x')
        throw new PrecheckError('field', `${name} without paymaster`, { field: name })
    }
  }
  if (op.nonce < 0n || op.nonce > U256_MAX)
    throw new PrecheckError('field', 'nonce must fit uint256', { field: 'nonce' })
  const gasFields = [
    'callGasLimit',
    'verificationGasLimit',
    'preVerificationGas',
    'maxFeePerGas',
    'maxPriorityFeePerGas',
    'paymasterVerificationGasLimit',
    'paymasterPostOpGasLimit',
  ] as const
  for (const name of gasFields) {
    const v = op[name]
    if (v === undefined) continue
    if (typeof v !== 'bigint' || v < 0n || v > U120_MAX)
      throw new PrecheckError('field', `${name} must be an integer in [0, 2^120)`, { field: name })
  }
}

/** The most gas one op may claim: what a lone op may take of a bundle under the chain's caps. */
export function maxOpGasFor(state: PrecheckState, settings: SimSettings): bigint {
  if (settings.maxOpGas !== undefined) return settings.maxOpGas
  const cap = minBig(state.blockGasLimit, settings.chainSpec.maxTransactionGas)
  return (cap * 90n) / 100n - BUNDLE_FIXED_OVERHEAD_GAS - BUNDLE_PER_OP_OVERHEAD_GAS
}

/** The parts of an EntryPoint's module the prechecks follow (v0.7+'s rules when none is given). */
export type PrecheckRules = Pick<
  EntryPointModule,
  'gas' | 'encodedOpForCalldata' | 'factoryWithDeployedSender'
>

/**
 * Factory exactly when the sender has no code (v0.9 ignores the factory of a deployed sender, so it
 * is let through there); the named factory and paymaster must have code.
 */
export function checkDeployment(
  op: UserOperation,
  state: PrecheckState,
  factoryWithDeployedSender: PrecheckRules['factoryWithDeployedSender'] = 'reject',
): void {
  const senderDeployed = hasCode(state.senderCode)
  // A 7702 op's sender is an EOA delegated by its authorization (applied in simulation) or before.
  if (isEip7702Op(op)) {
    if (!delegateOf(state.senderCode))
      throw new PrecheckError(
        'senderNotDelegated',
        `eip7702Auth: missing: sender ${op.sender} is not EIP-7702 delegated and the op carries no authorization`,
        { sender: op.sender, field: 'eip7702Auth' },
      )
  } else if (op.factory !== undefined && senderDeployed && factoryWithDeployedSender === 'reject')
    throw new PrecheckError(
      'factoryWithDeployedSender',
      `sender ${op.sender} is deployed: remove the factory`,
      {
        sender: op.sender,
      },
    )
  else if (op.factory === undefined && !senderDeployed)
    throw new PrecheckError(
      'senderNotDeployed',
      `sender ${op.sender} has no code and the op names no factory`,
      {
        sender: op.sender,
      },
    )
  else if (op.factory !== undefined && !senderDeployed && !hasCode(state.factoryCode))
    throw new PrecheckError('factoryNotDeployed', `factory ${op.factory} has no code`, {
      factory: op.factory,
    })
  if (op.paymaster !== undefined && !hasCode(state.paymasterCode))
    throw new PrecheckError('paymasterNotDeployed', `paymaster ${op.paymaster} has no code`, {
      paymaster: op.paymaster,
    })
}

/** Gas limits within the configured caps, and an op small enough to ever fit in a bundle. */
export function checkGasLimits(
  op: UserOperation,
  state: PrecheckState,
  settings: SimSettings,
  gas: PrecheckRules['gas'] = PACKED_GAS_RULES,
): void {
  const verification = gas.verificationGas(op)
  if (verification > settings.maxVerificationGas)
    throw new PrecheckError(
      'verificationGasTooHigh',
      `verification gas ${verification} exceeds the maximum ${settings.maxVerificationGas}`,
      { limit: verification, max: settings.maxVerificationGas },
    )
  // Before simulation the paymaster's context is unknown: a v0.6 op counts its worst case.
  const total = gas.maxGas(op)
  const max = maxOpGasFor(state, settings)
  if (total > max)
    throw new PrecheckError('opGasTooHigh', `op gas ${total} exceeds ${max}: it can never fit in a bundle`, {
      gas: total,
      max,
    })
}

/** maxFeePerGas ≥ baseFeeAcceptPercent% of the base fee (rounded up), tip ≥ floor, tip ≤ maxFee. */
export function checkFees(op: UserOperation, state: PrecheckState, settings: SimSettings): void {
  const minMaxFee = (state.baseFee * settings.baseFeeAcceptPercent + 99n) / 100n
  if (op.maxFeePerGas < minMaxFee)
    throw new PrecheckError(
      'maxFeeTooLow',
      `maxFeePerGas ${op.maxFeePerGas} is below ${minMaxFee} (${settings.baseFeeAcceptPercent}% of base fee ${state.baseFee})`,
      { maxFeePerGas: op.maxFeePerGas, required: minMaxFee },
    )
  if (op.maxPriorityFeePerGas < settings.minPriorityFeePerGas)
    throw new PrecheckError(
      'priorityFeeTooLow',
      `maxPriorityFeePerGas ${op.maxPriorityFeePerGas} is below the minimum ${settings.minPriorityFeePerGas}`,
      { maxPriorityFeePerGas: op.maxPriorityFeePerGas, required: settings.minPriorityFeePerGas },
    )
  if (op.maxPriorityFeePerGas > op.maxFeePerGas)
    throw new PrecheckError('priorityAboveMaxFee', 'maxPriorityFeePerGas exceeds maxFeePerGas', {})
}

/** preVerificationGas ≥ the calldata-and-overhead formula (with the EIP-7623 floor) + the L1 data fee share. */
export function checkPreVerificationGas(
  op: UserOperation,
  settings: SimSettings,
  ep?: PrecheckRules,
  daGas = 0n,
): void {
  const required =
    requiredPreVerificationGas(
      op,
      settings.chainSpec,
      ep?.encodedOpForCalldata,
      ep?.gas.preVerificationOverhead,
    ) + daGas
  if (op.preVerificationGas < required)
    throw new PrecheckError(
      'preVerificationGasTooLow',
      daGas > 0n
        ? `preVerificationGas ${op.preVerificationGas} is below the required ${required} (${daGas} of it the op's share of the L1 data fee)`
        : `preVerificationGas ${op.preVerificationGas} is below the required ${required}`,
      { preVerificationGas: op.preVerificationGas, required, daGas },
    )
}

/** All prechecks, cheapest first, by the op's EntryPoint's rules; throws the first violation. */
export function precheckOp(
  op: UserOperation,
  state: PrecheckState,
  settings: SimSettings,
  ep?: PrecheckRules,
): void {
  checkFields(op)
  checkDeployment(op, state, ep?.factoryWithDeployedSender)
  checkGasLimits(op, state, settings, ep?.gas)
  checkFees(op, state, settings)
  checkPreVerificationGas(op, settings, ep, state.daGas)
}
