import {
  type AbiFunction,
  type AbiParameter,
  decodeAbiParameters,
  getAbiItem,
  numberToHex,
  type PublicClient,
} from 'viem'
import { PACKED_PHASE_SELECTORS } from '../../chain/entrypoint/simulation-packed.js'
import { type PackedUserOperation, unpackUserOp } from '../../chain/userop.js'
import { type SimulationCall, simulationsAbi } from '../sim-call.js'
import type { ValidationTrace, ValidationTracer } from '../tracer-seam.js'
import { type TracerConfig, validationTracerSource } from './js-source.js'
import { type PhaseEntities, parseRawTrace, type RawTrace } from './raw.js'

/** The EntryPoint calls that open a phase in v0.7+ (each version's are its module's phaseSelectors). */
export const PHASE_SELECTORS: TracerConfig['selectors'] = PACKED_PHASE_SELECTORS

/**
 * ERC-7562 tracing of simulateValidation: debug_traceCall of the Simulator's very call (calldata,
 * pinned block, EntryPointSimulations override in the tracer config's `stateOverrides`) with
 * Conveyor's JS tracer, parsed into the seam's ValidationTrace.
 */
export class JsValidationTracer implements ValidationTracer {
  readonly name = 'js'

  constructor(private readonly client: PublicClient) {}

  async trace(call: SimulationCall): Promise<ValidationTrace> {
    const { config, entities } = phasesOf(call)
    const tracer = validationTracerSource(config)
    const raw = (await this.client.request({
      method: 'debug_traceCall',
      params: [
        { to: call.entryPoint, data: call.data },
        numberToHex(call.blockNumber),
        { tracer, stateOverrides: call.stateOverride },
      ],
    } as never)) as RawTrace
    return parseRawTrace(raw, entities)
  }
}

/**
 * What any trace source needs to split a simulation call into phases: the tracer config (the
 * EntryPoint, the op's sender and paymaster, the selectors that open a phase in the op's
 * EntryPoint version) and the entity of each phase. The Simulator's calls carry the op and the
 * selectors; a bare v0.7+ call has its op decoded from the calldata.
 */
export function phasesOf(call: SimulationCall): { config: TracerConfig; entities: PhaseEntities } {
  const op = call.op ?? simulatedOp(call)
  return {
    config: {
      entryPoint: call.entryPoint,
      sender: op.sender,
      paymaster: op.paymaster,
      selectors: call.phaseSelectors ?? PHASE_SELECTORS,
    },
    entities: { sender: op.sender, factory: op.factory, paymaster: op.paymaster },
  }
}

/**
 * The op inside a v0.7+ simulateValidation's calldata (for a call that does not carry it), decoded
 * by the function's own parameters: a lookup by selector over the whole ABI hashes every entry.
 */
function simulatedOp(call: SimulationCall) {
  const [packed] = decodeAbiParameters(simulateValidationInputs(call.version), `0x${call.data.slice(10)}`)
  return unpackUserOp(packed as PackedUserOperation)
}

const inputs = new Map<string, readonly AbiParameter[]>()
function simulateValidationInputs(version: SimulationCall['version']): readonly AbiParameter[] {
  let i = inputs.get(version)
  if (!i) {
    const fn = getAbiItem({ abi: simulationsAbi(version), name: 'simulateValidation' }) as AbiFunction
    i = fn.inputs
    inputs.set(version, i)
  }
  return i
}
