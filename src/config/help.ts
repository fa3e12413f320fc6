import type { OptionInfo } from './option.js'
import { OPTIONS } from './schema.js'

const GROUP_TITLES: Record<string, string> = {
  '': 'General',
  rpc: 'JSON-RPC server',
  log: 'Logging',
  pool: 'Mempool',
  builder: 'Bundle builder',
  metrics: 'Metrics and admin server',
  signer: 'Bundle signers',
  dev: 'Embedded chain (conveyor dev)',
}

function wrap(text: string, indent: string, width = 100): string {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(/\s+/)) {
    if (line && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line)
      line = word
    } else line = line ? `${line} ${word}` : word
  }
  if (line) lines.push(indent + line)
  return lines.join('\n')
}

function describe(o: OptionInfo): string {
  const value = o.isBoolean ? '[=true|false]' : ` <${o.accepts}>`
  const facts = [
    o.secret ? 'secret, never printed' : undefined,
    `default: ${o.defaultText ?? 'none'}`,
    o.devDefault !== undefined ? `dev default: ${o.devDefault}` : undefined,
    `env: ${o.env}`,
    o.synonyms.length > 0 ? `also ${o.synonyms.map((n) => `--${n}`).join(', ')}` : undefined,
    o.deprecated.length > 0 ? `formerly ${o.deprecated.map((n) => `--${n}`).join(', ')}` : undefined,
  ].filter((f) => f !== undefined)
  return `  --${o.name}${value}\n${wrap(`${o.help} [${facts.join('; ')}]`, '      ')}`
}

/** `conveyor --help`, generated from the option schema (defaults only, never a given value). */
export function helpText(version: string): string {
  const sections = new Map<string, OptionInfo[]>()
  for (const o of OPTIONS) {
    const title = o.section ?? GROUP_TITLES[o.group] ?? o.group
    sections.set(title, [...(sections.get(title) ?? []), o])
  }
  const body = [...sections].map(([title, options]) => `${title}:\n${options.map(describe).join('\n')}`)
  return `conveyor ${version}: an ERC-4337 bundler

Usage:
  conveyor dev [options]                   local chain (anvil) with both EntryPoints deployed and
                                           funded signer keys, then the bundler on it
  conveyor node --node_http URL [options]  the bundler on a real chain
  conveyor rpc --node_http URL --pool.redis_uri URL [options]
                                           only the JSON-RPC server and admission, into a Redis pool
  conveyor builder --node_http URL --pool.redis_uri URL [options]
                                           only the bundle senders, bundling from a Redis pool
  conveyor --help | --version

Options come from flags (--name value or --name=value; booleans --flag or --flag=false), from
CONVEYOR_* environment variables (the name uppercased, "." as "__", e.g. CONVEYOR_RPC__PORT) and
from a JSON file (--config path.json, nested like {"rpc": {"port": 3000}} or with dotted keys).
Flags override the environment, which overrides the file, which overrides the defaults.
Names are Rundler's where Rundler has the option; earlier spellings ("formerly") still work and
log a deprecation line.

  --config <path>
      JSON config file. [default: none; env: CONVEYOR_CONFIG]

${body.join('\n\n')}
`
}
