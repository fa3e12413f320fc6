import { Counter, Histogram, type Registry } from 'prom-client'
import type { Address, Hash } from 'viem'
import type { UserOperation } from '../chain/userop.js'
import type { ValidationTracer } from '../sim/tracer-seam.js'
import type { Validator } from '../sim/types.js'
import { RpcError } from '../util/errors.js'

/**
 * Metering decorators applied in the composition root, so the pool and simulator stay free of
 * metrics code: admissions by outcome and error code with their latency, simulation latency and
 * tracer time.
 */

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

function seconds(since: number): number {
  return (performance.now() - since) / 1000
}

/** The object with one method replaced; every other member still reads the original. */
function withMethod<T extends object, K extends keyof T>(target: T, key: K, replacement: T[K]): T {
  return new Proxy(target, {
    get(t, k) {
      if (k === key) return replacement
      const v = Reflect.get(t, k, t)
      return typeof v === 'function' ? v.bind(t) : v
    },
  })
}

/** Wraps addOp: conveyor_pool_admissions_total{entry_point,outcome,code}, conveyor_pool_admission_seconds. */
export function meterAdmissions<P extends { addOp(ep: Address, op: UserOperation): Promise<Hash> }>(
  pool: P,
  registry: Registry,
): P {
  const total = new Counter({
    name: 'conveyor_pool_admissions_total',
    help: 'User operations offered to the pool, by outcome (admitted, rejected) and JSON-RPC error code',
    labelNames: ['entry_point', 'outcome', 'code'],
    registers: [registry],
  })
  const latency = new Histogram({
    name: 'conveyor_pool_admission_seconds',
    help: 'Time to admit or reject a user operation (prechecks, simulation, mempool rules)',
    labelNames: ['outcome'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  })
  const addOp = async (entryPoint: Address, op: UserOperation): Promise<Hash> => {
    const started = performance.now()
    try {
      const hash = await pool.addOp(entryPoint, op)
      total.inc({ entry_point: entryPoint, outcome: 'admitted', code: '' })
      latency.observe({ outcome: 'admitted' }, seconds(started))
      return hash
    } catch (err) {
      const code = err instanceof RpcError ? String(err.code) : 'internal'
      total.inc({ entry_point: entryPoint, outcome: 'rejected', code })
      latency.observe({ outcome: 'rejected' }, seconds(started))
      throw err
    }
  }
  return withMethod(pool, 'addOp', addOp as P['addOp'])
}

/** Wraps validate/validateMany: conveyor_sim_validation_seconds{call}. */
export function meterValidator<V extends Validator>(validator: V, registry: Registry): V {
  const latency = new Histogram({
    name: 'conveyor_sim_validation_seconds',
    help: 'Simulation latency: validate (admission) and validate_many (a bundle re-simulated at once)',
    labelNames: ['call'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  })
  const timed =
    <A extends unknown[], R>(call: string, fn: (...a: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const end = latency.startTimer({ call })
      try {
        return await fn(...args)
      } finally {
        end()
      }
    }
  const validate = timed('validate', validator.validate.bind(validator))
  const metered = withMethod(validator, 'validate', validate as V['validate'])
  const many = validator.validateMany?.bind(validator)
  return many
    ? withMethod(metered, 'validateMany', timed('validate_many', many) as V['validateMany'])
    : metered
}

/** Wraps the ERC-7562 tracer: conveyor_sim_tracer_seconds (the debug_traceCall round trip). */
export function meterTracer(tracer: ValidationTracer, registry: Registry): ValidationTracer {
  const time = new Histogram({
    name: 'conveyor_sim_tracer_seconds',
    help: 'Time of one traced validation (debug_traceCall with the ERC-7562 tracer)',
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  })
  return {
    async trace(call) {
      const end = time.startTimer()
      try {
        return await tracer.trace(call)
      } finally {
        end()
      }
    },
  }
}
