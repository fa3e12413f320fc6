import {
  type AbiFunction,
  type AbiParameter,
  decodeAbiParameters,
  getAbiItem,
  numberToHex,
  type PublicClient,
  toFunctionSelector,
} from 'viem'
import { type PackedUserOperation, unpackUserOp } from '../../chain/userop.js'
import { type SimulationCall, simulationsAbi } from '../sim-call.js'
import type { ValidationTrace, ValidationTracer } from '../tracer-seam.js'
import { type TracerConfig, validationTracerSource } from './js-source.js'
import { type PhaseEntities, parseRawTrace, type RawTrace } from './raw.js'

const PACKED_OP = '(address,uint256,bytes,bytes,bytes32,uint256,bytes32,bytes,bytes)'

/** The EntryPoint calls that open a phase; the same signatures in v0.7 and v0.8. */
export const PHASE_SELECTORS: TracerConfig['selectors'] = {
  createSender: toFunctionSelector('createSender(bytes)'),
  validateUserOp: toFunctionSelector(`validateUserOp(${PACKED_OP},bytes32,uint256)`),
  validatePaymasterUserOp: toFunctionSelector(`validatePaymasterUserOp(${PACKED_OP},bytes32,uint256)`),
}

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
 * EntryPoint, the op's sender and paymaster, the selectors that open a phase) and the entity of
 * each phase. Both come from the op inside the call's calldata.
 */
export function phasesOf(call: SimulationCall): { config: TracerConfig; entities: PhaseEntities } {
  const op = simulatedOp(call)
  return {
    config: {
      entryPoint: call.entryPoint,
      sender: op.sender,
      paymaster: op.paymaster,
      selectors: PHASE_SELECTORS,
    },
    entities: { sender: op.sender, factory: op.factory, paymaster: op.paymaster },
  }
}

/**
 * The op inside simulateValidation's calldata (the seam hands over the call, not the op), decoded
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
