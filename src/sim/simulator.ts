import type { Address, Hash, Hex, PublicClient } from 'viem'
import { opGasPrice } from '../chain/da/da-gas.js'
import { delegationCode, delegationOverride } from '../chain/eip7702.js'
import { entryPointFor } from '../chain/entrypoint/registry.js'
import type { EntryPointModule } from '../chain/entrypoint/types.js'
import type { UserOperation } from '../chain/userop.js'
import { mapLimit } from '../util/concurrency.js'
import { invalidParams, RpcError } from '../util/errors.js'
import { acceptAggregatedSignature } from './aggregated-signature.js'
import { batchPrestate, simulateBatch } from './batch-call.js'
import { settleValidation } from './batch-outcome.js'
import { maxBig } from './bigmath.js'
import { codeHash } from './code-hash.js'
import {
  checkAuthorizationSignature,
  checkAuthorizationState,
  readAuthorizationState,
} from './eip7702-check.js'
import { HeadReads } from './head-reads.js'
import { precheckOp } from './precheck.js'
import { BlockReads, readPrecheckState } from './precheck-state.js'
import { checkValidationOutcome, rejectionForRevert } from './reject.js'
import type { SimSettings } from './settings.js'
import { type CallOutcome, callSimulation, mergeOverrides, type SimulationCall } from './sim-call.js'
import { SimulationCoalescer } from './simulation-coalescer.js'
import type { Prestate } from './tracer/native/replay-state.js'
import type { RuleChecker, TraceOptions, ValidationTrace, ValidationTracer } from './tracer-seam.js'
import type {
  ChainReads,
  ValidateManyOptions,
  ValidateOptions,
  ValidationOutcome,
  ValidationResult,
  Validator,
} from './types.js'
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

/** Traced validations in flight in validateMany when the caller does not say. */
const DEFAULT_CONCURRENCY = 16

/** One op's simulation at a pinned block, before and after the call: what both paths share. */
interface OpSimulation {
  ep: EntryPointModule
  op: UserOperation
  blockNumber: bigint
  reads: ChainReads
  state: Awaited<ReturnType<typeof readPrecheckState>>
}

/**
 * Admission validation of one op: prechecks, then simulateValidation by eth_call with the
 * EntryPointSimulations override at one pinned block, then the outcome checks (signature,
 * aggregator, time range). Throws RpcError with the ERC-4337 code on rejection. validateMany does
 * the same for many ops at one block, in one eth_call when no tracer is in use.
 */
export class Simulator implements Validator {
  /** The head and its block, shared by admissions in flight (the block a validation pins). */
  private readonly headReads: HeadReads
  /** Admissions' plain simulations at one block, joined into batched calls. */
  private readonly calls: SimulationCoalescer

  constructor(private readonly deps: SimulatorDeps) {
    const { client } = deps
    this.headReads = new HeadReads(client)
    this.calls = new SimulationCoalescer(
      async (ep, ops, blockNumber) =>
        simulateBatch(client, {
          ep,
          ops,
          blockNumber,
          gas: (await this.headReads.block(blockNumber)).gasLimit,
        }),
      (call) => callSimulation(client, call),
    )
  }

  async validate(
    entryPoint: Address,
    op: UserOperation,
    opts: ValidateOptions & { hints?: Pick<TraceOptions, 'nodeOutcome' | 'prestate'> } = {},
  ): Promise<ValidationResult> {
    const ep = supported(entryPoint)
    // Pin the block: the prechecks, the simulation and the code hashes must all see one state.
    const blockNumber = opts.blockNumber ?? (await this.head())
    const reads = opts.reads ?? new BlockReads(this.deps.client, this.headReads)
    const preparing = this.prepare(ep, op, blockNumber, { ...opts, reads })
    const call: SimulationCall = {
      entryPoint: ep.address,
      version: ep.version,
      data: ep.simulation.validation(op),
      blockNumber,
      // An authorization is simulated as applied: the sender's code is the delegation.
      stateOverride: mergeOverrides(delegationOverride(op), ep.simulation.stateOverride),
      op,
      phaseSelectors: ep.simulation.phaseSelectors,
    }
    if (this.deps.tracer) {
      // The trace runs alongside the prechecks' reads (it shares their block read): one round trip
      // less per admission. A precheck rejection still comes first.
      // A source that confirms against the node takes the outcome from the admissions' joined
      // eth_call (the simulation bytecode crosses the wire once per moment, not once per op).
      const joined =
        this.deps.tracer.usesNodeOutcome && !opts.hints?.nodeOutcome ? this.calls.run(ep, call) : undefined
      joined?.catch(() => {}) // awaited by the tracer
      const tracing = this.deps.tracer.trace(call, {
        reads,
        ...(joined && { nodeOutcome: joined }),
        ...opts.hints,
      })
      tracing.catch(() => {})
      const sim = await preparing
      const trace = await tracing
      return this.conclude(sim, trace.outcome, trace)
    }
    return this.conclude(await preparing, await this.calls.run(ep, call))
  }

  async validateMany(
    entryPoint: Address,
    ops: readonly UserOperation[],
    opts: ValidateManyOptions = {},
  ): Promise<ValidationOutcome[]> {
    const blockNumber = opts.blockNumber ?? (await this.head())
    const pinned = { ...opts, blockNumber, precheck: opts.precheck ?? opts.blockNumber === undefined }
    // A tracer needs each op's own trace. A source that confirms against the node's outcome gets
    // all of them from one batched eth_call first.
    const { tracer } = this.deps
    if (tracer) {
      const reads = pinned.reads ?? new BlockReads(this.deps.client)
      const batch = tracer.usesNodeOutcome
        ? await this.batchHints(entryPoint, ops, blockNumber, reads)
        : undefined
      return mapLimit(ops, opts.concurrency ?? DEFAULT_CONCURRENCY, (op, i) =>
        settleValidation(
          this.validate(entryPoint, op, {
            ...pinned,
            reads,
            hints: batch && { nodeOutcome: batch.outcomes[i], prestate: batch.prestate },
          }),
        ),
      )
    }
    const ep = entryPointFor(entryPoint)
    if (!ep) return ops.map(() => ({ ok: false, error: unsupported(entryPoint) }))
    const reads = pinned.reads ?? new BlockReads(this.deps.client)
    const preparing = Promise.all(
      ops.map((op) => settleSimulation(this.prepare(ep, op, blockNumber, { ...pinned, reads }))),
    )
    // Without prechecks no op is refused before its simulation: the call need not wait for the
    // reads (the code hashes), it runs alongside them.
    const runs = pinned.precheck ? (await preparing).map((p) => p.ok) : ops.map(() => true)
    const simulating = reads.block(blockNumber).then((block) =>
      simulateBatch(this.deps.client, {
        ep,
        ops: ops.filter((_, i) => runs[i]),
        blockNumber,
        // The block's gas limit: one the node accepts, ample for a bundle's ops.
        gas: block.gasLimit,
      }),
    )
    const [prepared, outcomes] = await Promise.all([preparing, simulating])
    let next = 0
    return Promise.all(
      prepared.map((p, i) => {
        const outcome = runs[i] ? (outcomes[next++] as CallOutcome) : undefined
        if (!p.ok) return { ok: false as const, error: p.error }
        if (!outcome) throw new Error('validateMany: an op was neither refused nor simulated')
        return settleValidation(this.conclude(p.sim, outcome))
      }),
    )
  }

  /**
   * For a source that replays against the node: every op's outcome from one batched eth_call, and
   * the state that call read (one prestateTracer call), instead of two node calls per op.
   */
  private async batchHints(
    entryPoint: Address,
    ops: readonly UserOperation[],
    blockNumber: bigint,
    reads: ChainReads,
  ): Promise<{ outcomes: CallOutcome[]; prestate: Prestate } | undefined> {
    const ep = entryPointFor(entryPoint)
    if (!ep || ops.length < 2) return undefined
    const block = await reads.block(blockNumber)
    const sim = { ep, ops, blockNumber, gas: block.gasLimit }
    const [outcomes, prestate] = await Promise.all([
      simulateBatch(this.deps.client, sim),
      batchPrestate(this.deps.client, sim),
    ])
    return { outcomes, prestate }
  }

  private head(): Promise<bigint> {
    return this.headReads.head()
  }

  /** The chain reads at the block and, when asked, the admission prechecks. */
  private async prepare(
    ep: EntryPointModule,
    op: UserOperation,
    blockNumber: bigint,
    opts: ValidateOptions,
  ): Promise<OpSimulation> {
    const reads = opts.reads ?? new BlockReads(this.deps.client)
    const prechecking = opts.precheck ?? opts.blockNumber === undefined
    const [state, auth] = await Promise.all([
      readPrecheckState(reads, op, blockNumber),
      prechecking
        ? readAuthorizationState(this.deps.client, op, blockNumber, (a, b) => reads.code(a, b))
        : undefined,
      prechecking ? checkAuthorizationSignature(op, this.deps.settings.chainSpec.chainId) : undefined,
    ])
    // The simulation sees the authorization applied, and so do the rules and the code hashes.
    if (op.eip7702Auth) state.senderCode = delegationCode(op.eip7702Auth.address)
    // The builder's re-simulation pins a block and skips prechecks (fees and the L1 fee share are
    // its own filters).
    if (prechecking) {
      if (auth) checkAuthorizationState(op, auth)
      const { daGas } = this.deps.settings
      if (daGas?.spec.da.inPreVerificationGas)
        state.daGas = await daGas.opDaGas(
          ep.address,
          op,
          blockNumber,
          opGasPrice(op, state.baseFee),
          ep.encodedOpForCalldata,
        )
      precheckOp(op, state, this.deps.settings, ep)
    }
    return { ep, op, blockNumber, reads, state }
  }

  /** The simulation's outcome decoded and checked: the result, or the RpcError it is rejected with. */
  private async conclude(
    sim: OpSimulation,
    outcome: CallOutcome,
    trace?: ValidationTrace,
  ): Promise<ValidationResult> {
    const { op, state, blockNumber, ep } = sim
    const { settings } = this.deps
    const decoded = ep.simulation.decodeValidation(outcome, op)
    if (!decoded.ok) throw rejectionForRevert(decoded.revert)
    const raw = decoded.result
    const codeHashes: Record<Address, Hash> = { ...trace?.codeHashes }
    const known: [Address | undefined, Hex | undefined][] = [
      [op.sender, state.senderCode],
      [op.factory, state.factoryCode],
      [op.paymaster, state.paymasterCode],
    ]
    for (const [address, code] of known)
      if (address && code !== undefined) codeHashes[address] = codeHash(code)
    const aggregator = raw.aggregatorInfo.aggregator
    if (BigInt(aggregator) > 1n && !codeHashes[aggregator]) {
      codeHashes[aggregator] = codeHash(await sim.reads.code(aggregator, blockNumber))
    }

    const result = toValidationResult(
      op,
      raw,
      { blockNumber, blockHash: state.blockHash, codeHashes, accessedStorage: trace?.storageReads ?? {} },
      settings,
      ep.parseValidationData,
    )
    const now = this.deps.now?.() ?? maxBig(wallClock(), state.timestamp)
    // The op can land in the block after the one simulated at, at the earliest.
    checkValidationOutcome(result, now, settings, blockNumber + 1n)
    if (trace && this.deps.ruleChecker) {
      const [violation] = this.deps.ruleChecker.check(trace, { entryPoint: ep.address, op, result })
      if (violation)
        throw new RpcError(violation.code, `${violation.rule}: ${violation.message}`, {
          rule: violation.rule,
          entity: violation.entity,
        })
    }
    return acceptAggregatedSignature(this.deps.client, sim, result)
  }
}

function supported(entryPoint: Address): EntryPointModule {
  const ep = entryPointFor(entryPoint)
  if (!ep) throw unsupported(entryPoint)
  return ep
}

function unsupported(entryPoint: Address): RpcError {
  return invalidParams(`unsupported entry point ${entryPoint}`)
}

/** A precheck rejection is the op's outcome; node trouble is thrown. */
async function settleSimulation(
  p: Promise<OpSimulation>,
): Promise<{ ok: true; sim: OpSimulation } | { ok: false; error: RpcError }> {
  try {
    return { ok: true, sim: await p }
  } catch (err) {
    if (err instanceof RpcError) return { ok: false, error: err }
    throw err
  }
}
