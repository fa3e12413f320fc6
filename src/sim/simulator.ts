import { type Address, type Hash, type Hex, keccak256, type PublicClient } from 'viem'
import { versionOf } from '../chain/entrypoint.js'
import type { UserOperation } from '../chain/userop.js'
import { invalidParams, RpcError } from '../util/errors.js'
import { maxBig } from './bigmath.js'
import { precheckOp } from './precheck.js'
import { BlockReads, readPrecheckState } from './precheck-state.js'
import { checkValidationOutcome, rejectionForRevert } from './reject.js'
import type { SimSettings } from './settings.js'
import {
  type CallOutcome,
  callSimulation,
  decodeSimulateValidation,
  encodeSimulateValidation,
  type SimulationCall,
  withSimulationCode,
} from './sim-call.js'
import type { RuleChecker, ValidationTrace, ValidationTracer } from './tracer-seam.js'
import type { ValidateOptions, ValidationResult, Validator } from './types.js'
import { toValidationResult } from './validation-result.js'

export interface SimulatorDeps {
  client: PublicClient
  settings: SimSettings
  /** ERC-7562 tracing (see tracer-seam.ts); without it validation is a plain eth_call. */
  tracer?: ValidationTracer
  ruleChecker?: RuleChecker
  /** Unix seconds; the wall clock by default. */
  now?: () => bigint
}

const wallClock = () => BigInt(Math.floor(Date.now() / 1000))

/**
 * Admission validation of one op: prechecks, then simulateValidation by eth_call with the
 * EntryPointSimulations override at one pinned block, then the outcome checks (signature,
 * aggregator, time range). Throws RpcError with the ERC-4337 code on rejection.
 */
export class Simulator implements Validator {
  constructor(private readonly deps: SimulatorDeps) {}

  async validate(
    entryPoint: Address,
    op: UserOperation,
    opts: ValidateOptions = {},
  ): Promise<ValidationResult> {
    const version = versionOf(entryPoint)
    if (!version) throw invalidParams(`unsupported entry point ${entryPoint}`)
    const { client, settings } = this.deps
    // Pin the block: the prechecks, the simulation and the code hashes must all see one state.
    const blockNumber = opts.blockNumber ?? (await client.getBlockNumber({ cacheTime: 0 }))
    const state = await readPrecheckState(opts.reads ?? new BlockReads(client), op, blockNumber)
    // The builder's re-simulation pins a block and skips prechecks (fees are its own filter).
    if (opts.precheck ?? opts.blockNumber === undefined) precheckOp(op, state, settings)

    const call: SimulationCall = {
      entryPoint,
      version,
      data: encodeSimulateValidation(version, op),
      blockNumber,
      stateOverride: withSimulationCode(version, entryPoint),
    }
    let trace: ValidationTrace | undefined
    let outcome: CallOutcome
    if (this.deps.tracer) {
      trace = await this.deps.tracer.trace(call)
      outcome = trace.outcome
    } else {
      outcome = await callSimulation(client, call)
    }
    if (!outcome.ok) throw rejectionForRevert(outcome.revert)

    const raw = decodeSimulateValidation(version, outcome.data)
    const codeHashes: Record<Address, Hash> = { ...trace?.codeHashes }
    const known: [Address | undefined, Hex | undefined][] = [
      [op.sender, state.senderCode],
      [op.factory, state.factoryCode],
      [op.paymaster, state.paymasterCode],
    ]
    for (const [address, code] of known)
      if (address && code !== undefined) codeHashes[address] = keccak256(code)
    const aggregator = raw.aggregatorInfo.aggregator
    if (BigInt(aggregator) > 1n && !codeHashes[aggregator]) {
      const code = (await client.getCode({ address: aggregator, blockNumber })) ?? '0x'
      codeHashes[aggregator] = keccak256(code)
    }

    const result = toValidationResult(
      op,
      raw,
      { blockNumber, blockHash: state.blockHash, codeHashes, accessedStorage: trace?.storageReads ?? {} },
      settings,
    )
    const now = this.deps.now?.() ?? maxBig(wallClock(), state.timestamp)
    checkValidationOutcome(result, now, settings)
    if (trace && this.deps.ruleChecker) {
      const [violation] = this.deps.ruleChecker.check(trace, { entryPoint, op, result })
      if (violation)
        throw new RpcError(violation.code, `${violation.rule}: ${violation.message}`, {
          rule: violation.rule,
          entity: violation.entity,
        })
    }
    return result
  }
}
