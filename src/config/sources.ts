import type { Layer } from './layer.js'
import type { OptionInfo } from './option.js'
import { OPTIONS, OPTIONS_BY_NAME } from './schema.js'
import { closest } from './suggest.js'

/** Options of the command line itself, not of the bundler. */
export const META_FLAGS = ['config', 'help', 'version'] as const

export interface SourceResult {
  values: Layer
  /** The --config / CONVEYOR_CONFIG path, if given. */
  configPath?: string
  problems: string[]
}

function unknownOption(
  shown: string,
  name: string,
  where: string,
  toKnown: (o: OptionInfo) => string,
): string {
  const guess = closest(
    name,
    OPTIONS.map((o) => o.name),
  )
  const hint = guess ? `; did you mean ${toKnown(OPTIONS_BY_NAME.get(guess)!)}?` : ''
  return `unknown option ${shown} (${where})${hint}`
}

/**
 * Command-line flags in Rundler's forms: `--name value`, `--name=value`; a boolean alone
 * (`--unsafe`) means true, and may be followed by `true`/`false`. Values of unknown options are
 * never echoed: a mistyped secret flag must not print the secret.
 */
export function fromFlags(argv: readonly string[]): SourceResult {
  const values: Layer = new Map()
  const problems: string[] = []
  let configPath: string | undefined
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!
    if (!token.startsWith('--') || token === '--') {
      // Echo only word-like strays ("dev"): anything else may be a key split off its flag.
      const shown = /^[a-z][a-z0-9_-]{0,30}$/i.test(token) ? `"${token}"` : `#${i + 1} (value hidden)`
      problems.push(`unexpected argument ${shown}: options are written --name value or --name=value`)
      continue
    }
    const eq = token.indexOf('=')
    const name = token.slice(2, eq < 0 ? undefined : eq)
    let value: string | undefined = eq < 0 ? undefined : token.slice(eq + 1)
    const option = OPTIONS_BY_NAME.get(name)
    const takesValue = name === 'config' || (option !== undefined && !option.isBoolean)
    if (!option && name !== 'config') {
      if (name === 'help' || name === 'version') continue
      problems.push(unknownOption(`--${name}`, name, 'command line', (o) => `--${o.name}`))
      // Skip the value too, so it is neither echoed nor mistaken for an argument.
      if (value === undefined && argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--')) i++
      continue
    }
    if (value === undefined) {
      const next = argv[i + 1]
      if (takesValue) {
        if (next === undefined || next.startsWith('--')) {
          problems.push(`--${name} needs a value: ${option?.accepts ?? 'a file path'}`)
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
    if (values.has(name)) {
      problems.push(`--${name} is given more than once`)
      continue
    }
    values.set(name, { value, origin: 'command line' })
  }
  return { values, configPath, problems }
}

// Older spelling read by src/util/log.ts; kept as an alias so one variable configures both.
const ENV_ALIASES: Record<string, string> = { CONVEYOR_LOG_LEVEL: 'log.level' }

/** CONVEYOR_* variables. Empty values count as unset (compose files often pass blanks). */
export function fromEnv(env: Record<string, string | undefined>): SourceResult {
  const values: Layer = new Map()
  const problems: string[] = []
  let configPath: string | undefined
  const byEnv = new Map(OPTIONS.map((o) => [o.env, o]))
  const keys = Object.keys(env)
    .filter((k) => k.startsWith('CONVEYOR_') && env[k] !== undefined && env[k] !== '')
    .sort((a, b) => Number(a in ENV_ALIASES) - Number(b in ENV_ALIASES)) // canonical names win over aliases
  for (const key of keys) {
    const value = env[key]!
    if (key === 'CONVEYOR_CONFIG') {
      configPath = value
      continue
    }
    const option = byEnv.get(key) ?? OPTIONS_BY_NAME.get(ENV_ALIASES[key] ?? '')
    if (!option) {
      const name = key.slice('CONVEYOR_'.length).toLowerCase().replaceAll('__', '.')
      problems.push(unknownOption(key, name, 'environment', (o) => o.env))
      continue
    }
    if (values.has(option.name)) continue
    values.set(option.name, { value, origin: `environment ${key}` })
  }
  return { values, configPath, problems }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** A parsed JSON config file: nested like the config object (`{"rpc": {"port": 3000}}`) or dotted keys. */
export function fromFile(content: unknown, path: string): SourceResult {
  const values: Layer = new Map()
  const problems: string[] = []
  const where = `config file ${path}`
  const groups = new Set(OPTIONS.map((o) => o.group).filter((g) => g !== ''))
  if (!isPlainObject(content)) {
    return { values, problems: [`${where} must hold a JSON object`] }
  }
  const walk = (obj: Record<string, unknown>, prefix: string) => {
    for (const [key, value] of Object.entries(obj)) {
      const name = prefix ? `${prefix}.${key}` : key
      if (OPTIONS_BY_NAME.has(name)) {
        if (values.has(name)) problems.push(`${name} is given more than once (${where})`)
        else values.set(name, { value, origin: where })
      } else if (groups.has(name) && isPlainObject(value)) {
        walk(value, name)
      } else {
        problems.push(unknownOption(name, name, where, (o) => o.name))
      }
    }
  }
  walk(content, '')
  return { values, problems }
}
