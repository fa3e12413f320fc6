import { RpcCode, RpcError } from '../../util/errors.js'
import type { Logger } from '../../util/log.js'
import type { SimulationCall } from '../sim-call.js'
import type { TraceOptions, ValidationTrace, ValidationTracer } from '../tracer-seam.js'
import { ReplayMismatchError } from './native/native-tracer.js'

/**
 * The native source with its safety net: when the in-process replay does not reproduce the node's
 * outcome, its trace is not used. The op is then traced by the node's JS tracer where the node
 * has one; where it has none, the op is refused with a clear error. No op is ever validated
 * without its rules checked.
 */
export class CheckedTracer implements ValidationTracer {
  readonly name: string
  readonly usesNodeOutcome = true

  constructor(
    private readonly native: ValidationTracer,
    private readonly fallback: ValidationTracer | undefined,
    private readonly logger?: Logger,
  ) {
    this.name = fallback ? `${native.name}+${fallback.name}` : (native.name ?? 'native')
  }

  async trace(call: SimulationCall, opts: TraceOptions = {}): Promise<ValidationTrace> {
    try {
      return await this.native.trace(call, opts)
    } catch (err) {
      if (!(err instanceof ReplayMismatchError)) throw err
      if (this.fallback) {
        this.logger?.warn(
          { entryPoint: call.entryPoint, block: call.blockNumber.toString(), reason: err.message },
          'native trace not confirmed by the node: tracing this op with the JS tracer',
        )
        return this.fallback.trace(call, opts)
      }
      throw new RpcError(
        RpcCode.InternalError,
        `the ERC-7562 validation rules could not be checked for this op, so it is not accepted: ${err.message}; the node offers no JavaScript tracer to check them another way`,
        { reason: 'rules-unchecked' },
      )
    }
  }
}
