import type { Config } from './schema.js'
import { OPTIONS } from './schema.js'

/** A copy of the config fit for a log line: secrets replaced, amounts as decimal strings. */
export function loggableConfig(cfg: Config): Record<string, unknown> {
  const copy = JSON.parse(
    JSON.stringify(cfg, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)),
  ) as Record<string, unknown>
  for (const o of OPTIONS) {
    if (!o.secret) continue
    let node: Record<string, unknown> | undefined = copy
    for (const key of o.path.slice(0, -1)) node = node?.[key] as Record<string, unknown> | undefined
    const leaf = o.path[o.path.length - 1]!
    if (node && node[leaf] !== undefined) node[leaf] = '[redacted]'
  }
  return copy
}
