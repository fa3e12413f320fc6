import { z } from 'zod'
import type { Spelling } from './spellings.js'
import type { ValueType } from './value-types.js'

/** What --help, the environment mapping and error messages need to know about an option. */
export interface OptionMeta {
  help: string
  accepts: string
  isBoolean: boolean
  /** Never echoed: not in errors, not in --help, not in logged config. */
  secret: boolean
  /** The default as written on the command line; undefined when there is none. */
  defaultText?: string
  /** `conveyor dev` uses this instead of the default (raw form, parsed like a flag). */
  devDefault?: string
  /** Heading in --help; defaults to the group. */
  section?: string
}

export interface OptionSpec<T> {
  type: ValueType<T>
  help: string
  /** A typed default; the option is optional when absent. */
  default?: T
  /** Describes a default computed elsewhere (e.g. from the chain spec); the option stays optional. */
  defaultText?: string
  devDefault?: string
  secret?: boolean
  section?: string
}

// Metadata hangs off the schema object itself, so the schema stays the one source of truth.
const META = new WeakMap<z.ZodTypeAny, OptionMeta>()

type Schema<T> = z.ZodType<T, z.ZodTypeDef, unknown>

export function opt<T>(spec: OptionSpec<T> & { default: T }): z.ZodDefault<Schema<T>>
export function opt<T>(spec: OptionSpec<T>): z.ZodOptional<Schema<T>>
export function opt<T>(spec: OptionSpec<T>): z.ZodTypeAny {
  const base = spec.type.schema
  const wrapped = spec.default !== undefined ? base.default(spec.default as never) : base.optional()
  const described = wrapped.describe(spec.help)
  const secret = spec.secret ?? false
  META.set(described, {
    help: spec.help,
    accepts: spec.type.accepts,
    isBoolean: spec.type.isBoolean ?? false,
    secret,
    defaultText: spec.default !== undefined ? spec.type.show(spec.default) || '(empty)' : spec.defaultText,
    devDefault: spec.devDefault,
    section: spec.section,
  })
  return described
}

export interface OptionInfo extends OptionMeta {
  /** Flag name (Rundler's spelling where Rundler has the option), e.g. "builder.max_bundle_size". */
  name: string
  /** Where the value lives in the Config object (often the same as the name). */
  path: string[]
  /** Environment variable: CONVEYOR_ + name uppercased, "." → "__". */
  env: string
  /** The group heading in --help: the name's prefix ("" for top-level options). */
  group: string
  /** Earlier spellings, accepted with a deprecation line. */
  deprecated: readonly string[]
  /** Other accepted spellings. */
  synonyms: readonly string[]
}

export function envName(name: string): string {
  return `CONVEYOR_${name.toUpperCase().replaceAll('.', '__')}`
}

function unwrapGroup(s: z.ZodTypeAny): z.ZodTypeAny {
  return s instanceof z.ZodDefault ? s._def.innerType : s
}

/** Every leaf option of a schema, in declaration order, spelled as `spellings` says. */
export function listOptions(schema: z.ZodTypeAny, spellings: readonly Spelling[] = []): OptionInfo[] {
  const byPath = new Map(spellings.map((s) => [s.path, s]))
  const out = leaves(schema, []).map(({ meta, path }): OptionInfo => {
    const spelling = byPath.get(path.join('.'))
    byPath.delete(path.join('.'))
    const name = spelling?.name ?? path.join('.')
    const group = name.includes('.') ? name.slice(0, name.lastIndexOf('.')) : ''
    return {
      ...meta,
      name,
      path,
      env: envName(name),
      group,
      deprecated: spelling?.deprecated ?? [],
      synonyms: spelling?.synonyms ?? [],
    }
  })
  if (byPath.size > 0) throw new Error(`spellings for unknown options: ${[...byPath.keys()].join(', ')}`)
  const seen = new Set<string>()
  for (const spelling of out.flatMap((o) => [o.name, ...o.deprecated, ...o.synonyms])) {
    if (seen.has(spelling)) throw new Error(`option spelling ${spelling} is used twice`)
    seen.add(spelling)
  }
  return out
}

function leaves(schema: z.ZodTypeAny, prefix: string[]): { meta: OptionMeta; path: string[] }[] {
  const obj = unwrapGroup(schema)
  if (!(obj instanceof z.ZodObject)) throw new Error(`config group ${prefix.join('.')} is not an object`)
  const out: { meta: OptionMeta; path: string[] }[] = []
  for (const [key, child] of Object.entries(obj.shape as Record<string, z.ZodTypeAny>)) {
    const path = [...prefix, key]
    const meta = META.get(child)
    if (meta) out.push({ meta, path })
    else if (unwrapGroup(child) instanceof z.ZodObject) out.push(...leaves(child, path))
    else throw new Error(`config option ${path.join('.')} was not declared with opt()`)
  }
  return out
}
