import type { Layer } from './layer.js'
import type { OptionInfo } from './option.js'
import { envName } from './option.js'
import { OPTIONS } from './schema.js'
import { VALUE_RENAMES } from './spellings.js'
import { closest } from './suggest.js'

/** Options of the command line itself, not of the bundler. */
export const META_FLAGS = ['config', 'help', 'version'] as const

export interface SourceResult {
  /** By option name (the canonical spelling). */
  values: Layer
  /** The --config / CONVEYOR_CONFIG path, if given. */
  configPath?: string
  problems: string[]
  /** Deprecated spellings that were used: one line each, naming the current spelling. */
  deprecations: string[]
}

type SpellingKind = 'name' | 'deprecated' | 'synonym'
interface Resolved {
  option: OptionInfo
  kind: SpellingKind
}

/** Every accepted spelling of every option, as `key` writes it for one source. */
function spellings(key: (spelling: string) => string): Map<string, Resolved> {
  const out = new Map<string, Resolved>()
  for (const option of OPTIONS) {
    out.set(key(option.name), { option, kind: 'name' })
    for (const s of option.deprecated) out.set(key(s), { option, kind: 'deprecated' })
    for (const s of option.synonyms) out.set(key(s), { option, kind: 'synonym' })
  }
  return out
}

const FLAG_SPELLINGS = spellings((s) => s)
const ENV_SPELLINGS = spellings(envName)
// An older variable also read by src/util/log.ts before the config is loaded: the canonical name wins.
const LEGACY_ENV: Record<string, string> = { CONVEYOR_LOG_LEVEL: 'log.level' }

function unknownOption(
  shown: string,
  name: string,
  where: string,
  toKnown: (o: OptionInfo) => string,
): string {
  const guess = closest(
    name,
    OPTIONS.flatMap((o) => [o.name, ...o.deprecated, ...o.synonyms]),
  )
  const option = guess ? FLAG_SPELLINGS.get(guess)?.option : undefined
  const hint = option ? `; did you mean ${toKnown(option)}?` : ''
  return `unknown option ${shown} (${where})${hint}`
}

/**
 * Collects one source's values by option name. Two spellings of one option in the same source are
 * refused, naming both; a deprecated spelling is accepted with one line naming the current one.
 */
class Collector {
  readonly values: Layer = new Map()
  readonly problems: string[] = []
  readonly deprecations: string[] = []
  private readonly shownBy = new Map<string, string>()

  constructor(
    private readonly where: string,
    private readonly show: (spelling: string) => string,
  ) {}

  add(r: Resolved, spelling: string, value: unknown, origin: string): void {
    const name = r.option.name
    const shown = this.show(spelling)
    const earlier = this.shownBy.get(name)
    if (earlier === shown) {
      this.problems.push(`${shown} is given more than once (${this.where})`)
      return
    }
    if (earlier !== undefined) {
      this.problems.push(
        `${earlier} and ${shown} are two spellings of ${this.show(name)}: give it once (${this.where})`,
      )
      return
    }
    this.shownBy.set(name, shown)
    if (r.kind === 'deprecated') {
      this.deprecations.push(`${shown} is deprecated (${this.where}): use ${this.show(name)}`)
    }
    const given = r.kind === 'name' ? undefined : shown
    this.values.set(name, { value: this.renameValue(r.option, shown, value), origin, spelling: given })
  }

  private renameValue(option: OptionInfo, shown: string, value: unknown): unknown {
    if (typeof value !== 'string') return value
    const rename = VALUE_RENAMES.find((v) => v.name === option.name && v.from === value.trim())
    if (!rename) return value
    this.deprecations.push(`${shown} value ${rename.from} is deprecated (${this.where}): use ${rename.to}`)
    return rename.to
  }

  result(configPath?: string): SourceResult {
    return { values: this.values, configPath, problems: this.problems, deprecations: this.deprecations }
  }
}

/**
 * Command-line flags in Rundler's forms: `--name value`, `--name=value`; a boolean alone
 * (`--unsafe`) means true, and may be followed by `true`/`false`. Values of unknown options are
 * never echoed: a mistyped secret flag must not print the secret.
 */
export function fromFlags(argv: readonly string[]): SourceResult {
  const out = new Collector('command line', (s) => `--${s}`)
  let configPath: string | undefined
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!
    if (!token.startsWith('--') || token === '--') {
      // Echo only word-like strays ("dev"): anything else may be a key split off its flag.
      const shown = /^[a-z][a-z0-9_-]{0,30}$/i.test(token) ? `"${token}"` : `#${i + 1} (value hidden)`
      out.problems.push(`unexpected argument ${shown}: options are written --name value or --name=value`)
      continue
    }
    const eq = token.indexOf('=')
    const name = token.slice(2, eq < 0 ? undefined : eq)
    let value: string | undefined = eq < 0 ? undefined : token.slice(eq + 1)
    const resolved = FLAG_SPELLINGS.get(name)
    const option = resolved?.option
    const takesValue = name === 'config' || (option !== undefined && !option.isBoolean)
    if (!option && name !== 'config') {
      if (name === 'help' || name === 'version') continue
      out.problems.push(unknownOption(`--${name}`, name, 'command line', (o) => `--${o.name}`))
      // Skip the value too, so it is neither echoed nor mistaken for an argument.
      if (value === undefined && argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--')) i++
      continue
    }
    if (value === undefined) {
      const next = argv[i + 1]
      if (takesValue) {
        if (next === undefined || next.startsWith('--')) {
          out.problems.push(`--${name} needs a value: ${option?.accepts ?? 'a file path'}`)
          continue
        }
        value = next
        i++
      } else if (next !== undefined && /^(true|false)$/i.test(next)) {
        value = next
        i++
      } else {
        value = 'true'
      }
    }
    if (name === 'config') {
      configPath = value
      continue
    }
    out.add(resolved!, name, value, 'command line')
  }
  return out.result(configPath)
}

/** CONVEYOR_* variables. Empty values count as unset (compose files often pass blanks). */
export function fromEnv(env: Record<string, string | undefined>): SourceResult {
  const out = new Collector('environment', (s) => envName(s))
  let configPath: string | undefined
  const keys = Object.keys(env)
    .filter((k) => k.startsWith('CONVEYOR_') && env[k] !== undefined && env[k] !== '')
    .sort()
  const legacy: [string, string][] = []
  for (const key of keys) {
    const value = env[key]!
    if (key === 'CONVEYOR_CONFIG') {
      configPath = value
      continue
    }
    if (key in LEGACY_ENV) {
      legacy.push([key, value])
      continue
    }
    const resolved = ENV_SPELLINGS.get(key)
    if (!resolved) {
      const name = key.slice('CONVEYOR_'.length).toLowerCase().replaceAll('__', '.')
      out.problems.push(unknownOption(key, name, 'environment', (o) => o.env))
      continue
    }
    const spelling = [resolved.option.name, ...resolved.option.deprecated, ...resolved.option.synonyms].find(
      (s) => envName(s) === key,
    )!
    out.add(resolved, spelling, value, `environment ${key}`)
  }
  for (const [key, value] of legacy) {
    const name = LEGACY_ENV[key]!
    if (!out.values.has(name)) out.values.set(name, { value, origin: `environment ${key}` })
  }
  return out.result(configPath)
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** A parsed JSON config file: nested like the flag names (`{"rpc": {"port": 3000}}`) or dotted keys. */
export function fromFile(content: unknown, path: string): SourceResult {
  const where = `config file ${path}`
  const out = new Collector(where, (s) => s)
  const groups = new Set<string>()
  for (const spelling of FLAG_SPELLINGS.keys()) {
    const parts = spelling.split('.')
    for (let n = 1; n < parts.length; n++) groups.add(parts.slice(0, n).join('.'))
  }
  if (!isPlainObject(content)) {
    out.problems.push(`${where} must hold a JSON object`)
    return out.result()
  }
  const walk = (obj: Record<string, unknown>, prefix: string) => {
    for (const [key, value] of Object.entries(obj)) {
      const name = prefix ? `${prefix}.${key}` : key
      const resolved = FLAG_SPELLINGS.get(name)
      // `metrics` is both an option (on/off) and the group of metrics.port, metrics.host.
      if (groups.has(name) && isPlainObject(value)) walk(value, name)
      else if (resolved) out.add(resolved, name, value, where)
      else out.problems.push(unknownOption(name, name, where, (o) => o.name))
    }
  }
  walk(content, '')
  return out.result()
}
