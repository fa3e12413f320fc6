import { type Common, createCustomCommon, Mainnet } from '@ethereumjs/common'
import { createEVM, type EVM, getActivePrecompiles } from '@ethereumjs/evm'
import { SimpleStateManager } from '@ethereumjs/statemanager'
import { bytesToHex, createAddressFromString, hexToBytes } from '@ethereumjs/util'
import type { Address, Block, Hex } from 'viem'
import type { StateOverrideSet } from '../../types.js'
import type { TracerConfig } from '../js-source.js'
import type { RawTrace } from '../raw.js'
import { fastEcrecover } from './ecrecover.js'
import { ValidationRecorder } from './recorder.js'
import { cacheJumpAnalysis, fastEipLookup, installTap, type ReplayTap } from './replay-hooks.js'
import { CodeCache, loadState, type Prestate, type StartingState, startingState } from './replay-state.js'
import type { Replayer } from './replayer.js'

/** The block a call runs in, as eth_call at a block number sees it: that block's own header. */
export interface BlockContext {
  number: bigint
  timestamp: bigint
  coinbase: Address
  baseFeePerGas: bigint
  gasLimit: bigint
  /** The header's mixHash (PREVRANDAO after the merge). */
  prevRandao: Hex
  excessBlobGas?: bigint
}

/** The context of a block as viem reads it. */
export function blockContext(b: Block): BlockContext {
  return {
    number: b.number as bigint,
    timestamp: b.timestamp,
    coinbase: b.miner,
    baseFeePerGas: b.baseFeePerGas ?? 0n,
    gasLimit: b.gasLimit,
    prevRandao: b.mixHash,
    excessBlobGas: b.excessBlobGas ?? undefined,
  }
}

/** One call to replay in-process, exactly as the node ran it. */
export interface ReplayCall {
  from: Address
  to: Address
  data: Hex
  /** The call's gas, as given to the node (intrinsic gas is taken off as the node does). */
  gas: bigint
  stateOverride?: StateOverrideSet
}

/** The EVM rules: chain id and hardfork (the probe finds the one the node runs). */
export interface ReplayRules {
  chainId: number
  hardfork: string
}

export interface ReplayOutcome {
  /** Top-level result: return or revert data. */
  output: Hex
  /** The EVM's exception of the top-level call ('revert', 'out of gas', ...), or null. */
  error: string | null
}

/**
 * Replays simulation calls on @ethereumjs/evm, one at a time, on one long-lived EVM per rule set
 * (an EVM costs ~1 ms to build, and its opcode map must stay the same for cached jump analyses).
 * Each replay empties the state, loads the call's pre-state, runs the call as eth_call would and
 * hands the recorder what the rules need; it returns the trace in the JS tracer's shape.
 */
export class ReplayEngine implements Replayer {
  private readonly tap: ReplayTap
  private readonly codes = new CodeCache()
  private queue: Promise<unknown> = Promise.resolve()
  private start: StartingState = new Map()

  private constructor(
    private readonly evm: EVM,
    private readonly common: Common,
    private readonly sm: SimpleStateManager,
  ) {
    this.tap = {
      recorder: null,
      original: (address, slot) => this.start.get(address)?.storage.get(slot) ?? ZERO_WORD,
    }
    installTap(evm, this.tap)
  }

  static async create(rules: ReplayRules): Promise<ReplayEngine> {
    const common = commonFor(rules)
    fastEipLookup(common)
    const sm = new SimpleStateManager({ common })
    const evm = await createEVM({ common, stateManager: sm })
    const engine = new ReplayEngine(evm, common, sm)
    // One STOP shows the interpreter's class, whose jump analysis is then cached for this EVM.
    let proto: object | undefined
    engine.tap.onInterpreter = (i) => {
      proto = Object.getPrototypeOf(i)
    }
    const stop = createAddressFromString(PROBE_STOP)
    await sm.putCode(stop, Uint8Array.of(0))
    await evm.runCall({ to: stop, gasLimit: 100_000n })
    engine.tap.onInterpreter = undefined
    if (proto) cacheJumpAnalysis(evm, proto)
    return engine
  }

  /**
   * Runs one replay after those already queued (they share the EVM), from `start`: the pre-state
   * with the call's own override applied (startingState); `config` says what the recorder records.
   */
  replay(
    call: ReplayCall,
    start: StartingState,
    block: BlockContext,
    config: TracerConfig,
  ): Promise<RawTrace> {
    const run = this.queue.then(() => this.run(call, start, block, new ValidationRecorder(config)))
    this.queue = run.catch(() => {})
    return run
  }

  async close(): Promise<void> {}

  /** Runs a call with no recorder: the outcome only (the start-up probe). */
  outcome(call: ReplayCall, prestate: Prestate, block: BlockContext): Promise<ReplayOutcome> {
    const run = this.queue.then(async () => {
      this.reset(startingState(prestate, call.stateOverride))
      return runTopCall(this.evm, this.common, call, block)
    })
    this.queue = run.catch(() => {})
    return run
  }

  private reset(start: StartingState): void {
    this.start = start
    loadState(this.sm, this.start, this.codes)
    this.evm.journal.cleanJournal()
    this.evm.transientStorage.clear()
  }

  private async run(
    call: ReplayCall,
    start: StartingState,
    block: BlockContext,
    recorder: ValidationRecorder,
  ): Promise<RawTrace> {
    this.reset(start)
    this.tap.recorder = recorder
    let outcome: ReplayOutcome
    try {
      outcome = await runTopCall(this.evm, this.common, call, block)
    } finally {
      this.tap.recorder = null
    }
    const code: Record<string, Hex> = {}
    const ep = call.to.toLowerCase()
    for (const a of recorder.touched) {
      if (a === ep) continue
      const c = await this.sm.getCode(createAddressFromString(a))
      if (c.length > 0) code[a] = bytesToHex(c)
    }
    return recorder.result(code, outcome.output, outcome.error)
  }
}

const ZERO_WORD: Hex = `0x${'0'.repeat(64)}`
/** An address with one STOP byte of code, run once when an engine is made. */
const PROBE_STOP: Address = '0x00000000000000000000000000000000000057f0'

/** Runs the top-level call as eth_call does: intrinsic gas taken off, tx-level warm addresses. */
export async function runTopCall(
  evm: EVM,
  common: Common,
  call: ReplayCall,
  block: BlockContext,
): Promise<ReplayOutcome> {
  const data = hexToBytes(call.data)
  const caller = createAddressFromString(call.from)
  const to = createAddressFromString(call.to)
  const coinbase = createAddressFromString(block.coinbase)
  // EIP-2929/3651: the sender, the recipient, the precompiles and the coinbase start warm.
  for (const a of [caller, to, coinbase]) evm.journal.addAlwaysWarmAddress(a.toString())
  for (const p of getActivePrecompiles(common).keys()) evm.journal.addAlwaysWarmAddress(p)
  const intrinsic = intrinsicGas(data)
  if (call.gas < intrinsic) throw new Error(`replay: gas ${call.gas} below intrinsic gas ${intrinsic}`)
  const r = await evm.runCall({
    caller,
    origin: caller,
    to,
    data,
    gasLimit: call.gas - intrinsic,
    gasPrice: 0n,
    value: 0n,
    block: {
      header: {
        number: block.number,
        coinbase,
        timestamp: block.timestamp,
        difficulty: 0n,
        prevRandao: hexToBytes(block.prevRandao),
        gasLimit: block.gasLimit,
        baseFeePerGas: block.baseFeePerGas,
        getBlobGasPrice: () => blobGasPrice(block.excessBlobGas ?? 0n),
      },
    },
  })
  const err = r.execResult.exceptionError?.error
  return { output: bytesToHex(r.execResult.returnValue), error: err ?? null }
}

/** A Common for the node's chain id and hardfork, with a KZG that verifies nothing (see below). */
export function commonFor(rules: ReplayRules): Common {
  return createCustomCommon({ chainId: rules.chainId }, Mainnet, {
    hardfork: rules.hardfork,
    customCrypto: { kzg: UNVERIFIED_KZG, ecrecover: fastEcrecover },
  })
}

/**
 * The point-evaluation precompile (0x0a) is not evaluated in-process: any well-formed proof fails.
 * Validation may not use it (ERC-7562 OP-062); a validation that passes a valid proof would get
 * another outcome than on the node, and the outcome check then refuses the replay.
 */
const UNVERIFIED_KZG = {
  loadTrustedSetup() {},
  blobToKzgCommitment(): never {
    throw new Error('KZG is not available in the replay')
  },
  computeBlobProof(): never {
    throw new Error('KZG is not available in the replay')
  },
  verifyProof(): boolean {
    return false
  },
  verifyBlobProofBatch(): boolean {
    return false
  },
} as never

const TX_GAS = 21_000n
/** eth_call charges the transaction's intrinsic gas before the code runs (no access list here). */
function intrinsicGas(data: Uint8Array): bigint {
  let g = TX_GAS
  for (const b of data) g += b === 0 ? 4n : 16n
  return g
}

/** EIP-4844's fake exponential with Prague's update fraction (BLOBBASEFEE is banned in validation). */
function blobGasPrice(excess: bigint): bigint {
  const fraction = 5_007_716n
  let i = 1n
  let output = 0n
  let acc = fraction
  while (acc > 0n) {
    output += acc
    acc = (acc * excess) / (fraction * i)
    i++
  }
  return output / fraction
}
