/** Raw option values from one source, by option name, with where each came from (for messages). */
export interface RawValue {
  value: unknown
  origin: string
  /** The spelling it was given under, as the source writes it (`--max_bundle_size`), if not the name. */
  spelling?: string
}
export type Layer = Map<string, RawValue>

/** Later layers win: pass them lowest precedence first (defaults, file, env, flags). */
export function mergeLayers(...layers: Layer[]): Layer {
  const out: Layer = new Map()
  for (const layer of layers) for (const [name, raw] of layer) out.set(name, raw)
  return out
}

/** Turns option names into the nested shape the schema parses, at each option's config path. */
export function nest(layer: Layer, pathOf: (name: string) => readonly string[]): Record<string, unknown> {
  const root: Record<string, unknown> = {}
  for (const [name, { value }] of layer) {
    const path = pathOf(name)
    let node = root
    for (const key of path.slice(0, -1)) {
      node[key] ??= {}
      node = node[key] as Record<string, unknown>
    }
    node[path[path.length - 1]!] = value
  }
  return root
}
