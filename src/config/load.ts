import { readFileSync } from 'node:fs'
import type { z } from 'zod'
import { type Command, crossCheck } from './checks.js'
import { ConfigError } from './errors.js'
import { type Layer, mergeLayers, nest } from './layer.js'
import type { OptionInfo } from './option.js'
import { applyRpcApi } from './rpc-api.js'
import { type Config, configSchema, OPTIONS, OPTIONS_BY_NAME, OPTIONS_BY_PATH } from './schema.js'
import { fromEnv, fromFile, fromFlags } from './sources.js'

export interface LoadOptions {
  command: Command
  /** The options after the subcommand. */
  argv: readonly string[]
  env?: Record<string, string | undefined>
  /** Reads --config and --signer.private_keys_file; throws like fs.readFileSync. */
  readFile?: (path: string) => string
  /** Told once per deprecated spelling used (the caller logs it once a logger exists). */
  warn?: (message: string) => void
}

const defaultRead = (path: string) => readFileSync(path, 'utf8')

/**
 * The bundler's configuration: flags over CONVEYOR_* environment over the --config file over
 * defaults (with `conveyor dev`'s own defaults just above the schema's). Throws one ConfigError
 * listing every problem; secret values never appear in it.
 */
export function loadConfig(opts: LoadOptions): Config {
  const read = opts.readFile ?? defaultRead
  const flags = fromFlags(opts.argv)
  const env = fromEnv(opts.env ?? {})
  const problems = [...flags.problems, ...env.problems]
  const deprecations = [...flags.deprecations, ...env.deprecations]

  let file: Layer = new Map()
  const configPath = flags.configPath ?? env.configPath
  if (configPath !== undefined) {
    const loaded = readConfigFile(configPath, read)
    if (typeof loaded === 'string') problems.push(loaded)
    else {
      const parsed = fromFile(loaded, configPath)
      problems.push(...parsed.problems)
      deprecations.push(...parsed.deprecations)
      file = parsed.values
    }
  }

  const devDefaults: Layer = new Map()
  if (opts.command === 'dev') {
    for (const o of OPTIONS) {
      if (o.devDefault !== undefined) devDefaults.set(o.name, { value: o.devDefault, origin: 'dev default' })
    }
  }
  const merged = mergeLayers(devDefaults, file, env.values, flags.values)
  problems.push(...readKeysFile(merged, read))
  problems.push(...applyRpcApi(merged))

  const result = configSchema.safeParse(nest(merged, pathOf))
  if (!result.success) {
    const failed = new Set<string>()
    for (const issue of result.error.issues) {
      const described = describeIssue(issue, merged)
      if (described.option) failed.add(described.option)
      problems.push(described.text)
    }
    problems.push(...crossCheckRest(merged, failed, opts.command))
    throw new ConfigError(problems)
  }
  problems.push(...crossCheck(result.data, opts.command))
  if (problems.length > 0) throw new ConfigError(problems)
  for (const line of new Set(deprecations)) opts.warn?.(line)
  return result.data
}

const pathOf = (name: string) => OPTIONS_BY_NAME.get(name)?.path ?? name.split('.')

/**
 * The cross-option checks over the values that did parse (defaults stand in for the ones that did
 * not), so one error lists every problem. Problems naming a failed option are left out: they
 * would be about the stand-in default, not what the operator gave.
 */
function crossCheckRest(merged: Layer, failed: ReadonlySet<string>, command: Command): string[] {
  const rest: Layer = new Map([...merged].filter(([name]) => !failed.has(name)))
  const retry = configSchema.safeParse(nest(rest, pathOf))
  if (!retry.success) return []
  const names = [...failed].map((n) => new RegExp(`--${n.replaceAll('.', '\\.')}\\b`))
  return crossCheck(retry.data, command).filter((p) => !names.some((re) => re.test(p)))
}

function readConfigFile(path: string, read: (path: string) => string): unknown | string {
  let text: string
  try {
    text = read(path)
  } catch (err) {
    return `cannot read config file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`
  }
  try {
    return JSON.parse(text) as unknown
  } catch (err) {
    // JSON.parse quotes the text around the fault, which may hold a key: keep only the position.
    const at = /position (\d+)/.exec(String((err as Error).message))
    return `config file ${path} is not valid JSON${at ? ` (at position ${at[1]})` : ''}`
  }
}

/** Replaces --signer.private_keys_file with the keys it holds. */
function readKeysFile(merged: Layer, read: (path: string) => string): string[] {
  const fileOpt = merged.get('signer.private_keys_file')
  if (!fileOpt) return []
  if (typeof fileOpt.value !== 'string' || fileOpt.value.trim() === '') {
    return [`invalid --signer.private_keys_file (${fileOpt.origin}): expects a file path`]
  }
  const path = fileOpt.value.trim()
  if (merged.has('signer.private_keys')) {
    return ['give either --signer.private_keys or --signer.private_keys_file, not both']
  }
  let text: string
  try {
    text = read(path)
  } catch (err) {
    return [
      `cannot read --signer.private_keys_file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`,
    ]
  }
  const keys = text
    .split('\n')
    .map((line) => line.replace(/#.*/, ''))
    .flatMap((line) => line.split(/[,\s]+/))
    .filter((k) => k.length > 0)
  merged.set('signer.private_keys', { value: keys, origin: `--signer.private_keys_file ${path}` })
  return []
}

function describeIssue(issue: z.ZodIssue, merged: Layer): { text: string; option?: string } {
  const path = issue.path.map(String)
  let option: OptionInfo | undefined
  for (let n = path.length; n > 0 && !option; n--) option = OPTIONS_BY_PATH.get(path.slice(0, n).join('.'))
  if (!option) return { text: `${path.join('.') || 'config'}: ${issue.message}` }
  const raw = merged.get(option.name)
  const itemIndex = issue.path[option.path.length]
  const item = typeof itemIndex === 'number' ? ` (item ${itemIndex + 1})` : ''
  const shown = option.secret ? '(value hidden)' : show(raw?.value)
  return {
    text: `invalid ${raw?.spelling ?? `--${option.name}`} ${shown}${item} (${raw?.origin ?? 'default'}): expects ${option.accepts}`,
    option: option.name,
  }
}

function show(value: unknown): string {
  const text = JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)) ?? String(value)
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}
