import { Counter, Histogram, type Registry } from 'prom-client'

/** Per-method request counts and latency, and errors per method and code. */
export interface RpcMetrics {
  observe(method: string, seconds: number, errorCode: number | undefined): void
}

// Several servers may share a registry in one process (tests); reuse what is there.
function counter(registry: Registry, name: string, help: string, labelNames: string[]): Counter<string> {
  const existing = registry.getSingleMetric(name)
  if (existing) return existing as Counter<string>
  return new Counter({ name, help, labelNames, registers: [registry] })
}

function histogram(registry: Registry, name: string, help: string, labelNames: string[]): Histogram<string> {
  const existing = registry.getSingleMetric(name)
  if (existing) return existing as Histogram<string>
  return new Histogram({
    name,
    help,
    labelNames,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  })
}

export function createRpcMetrics(registry: Registry): RpcMetrics {
  const requests = counter(registry, 'conveyor_rpc_requests_total', 'JSON-RPC calls by method', ['method'])
  const errors = counter(registry, 'conveyor_rpc_errors_total', 'JSON-RPC error answers by method and code', [
    'method',
    'code',
  ])
  const latency = histogram(
    registry,
    'conveyor_rpc_request_duration_seconds',
    'JSON-RPC call latency by method',
    ['method'],
  )
  return {
    observe(method, seconds, errorCode) {
      requests.inc({ method })
      latency.observe({ method }, seconds)
      if (errorCode !== undefined) errors.inc({ method, code: String(errorCode) })
    },
  }
}
