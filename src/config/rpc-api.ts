import type { Layer } from './layer.js'

/** Rundler's JSON-RPC namespaces; Conveyor serves eth always and debug on request. */
export const RPC_NAMESPACES = ['eth', 'debug', 'rundler', 'admin'] as const
const SERVED = new Set<string>(['eth', 'debug'])

function names(value: unknown): string[] | undefined {
  if (typeof value === 'string')
    return value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.map((v) => v.trim())
  return undefined // the schema says what is wrong with it
}

const asBoolean = (v: unknown) => (typeof v === 'string' ? /^(true|1|yes)$/i.test(v.trim()) : v === true)

/**
 * Rundler's `--rpc.api` decides whether the debug namespace is served, as
 * `--rpc.enable_debug_methods` does: when given, it sets that option, and the two must agree when
 * an operator gives both. Namespaces Conveyor does not have are refused rather than ignored.
 */
export function applyRpcApi(merged: Layer): string[] {
  const api = merged.get('rpc.api')
  const list = api && names(api.value)
  if (!api || !list) return []
  const problems: string[] = []
  const missing = list.filter((n) => !SERVED.has(n) && (RPC_NAMESPACES as readonly string[]).includes(n))
  if (missing.length > 0) {
    problems.push(
      `--rpc.api ${missing.join(',')} (${api.origin}): Conveyor has no ${missing.join(' or ')} namespace; it serves eth, and debug on request`,
    )
  }
  const debug = list.includes('debug')
  const flag = merged.get('rpc.enable_debug_methods')
  if (flag && flag.origin !== 'dev default' && asBoolean(flag.value) !== debug) {
    problems.push(
      `--rpc.api (${api.origin}) and --rpc.enable_debug_methods (${flag.origin}) disagree about the debug namespace: give one of them`,
    )
  } else {
    merged.set('rpc.enable_debug_methods', { value: String(debug), origin: `--rpc.api (${api.origin})` })
  }
  return problems
}
