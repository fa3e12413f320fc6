import { describe, expect, it } from 'vitest'
import {
  type Command,
  type Config,
  ConfigError,
  configSchema,
  helpText,
  loadConfig,
  OPTIONS,
} from '../src/config/index.js'
import { listOptions } from '../src/config/option.js'

const KEY_A = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d'
const NODE = ['--node_http', 'http://127.0.0.1:8545', '--signer.private_keys', KEY_A]

function load(
  argv: string[],
  env: Record<string, string> = {},
  file?: unknown,
  command: Command = 'node',
): { cfg: Config; warnings: string[] } {
  const warnings: string[] = []
  const files: Record<string, string> = file === undefined ? {} : { '/c.json': JSON.stringify(file) }
  const cfg = loadConfig({
    command,
    argv: file === undefined ? argv : ['--config', '/c.json', ...argv],
    env,
    readFile: (p) => {
      const text = files[p]
      if (text === undefined) throw Object.assign(new Error('missing'), { code: 'ENOENT' })
      return text
    },
    warn: (m) => warnings.push(m),
  })
  return { cfg, warnings }
}

function problems(argv: string[], env: Record<string, string> = {}, file?: unknown): string {
  try {
    load(argv, env, file)
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return (err as ConfigError).message
  }
  throw new Error(`expected ${JSON.stringify(argv)} to be refused`)
}

// Today's spelling → Rundler's, with a value that differs from the default.
const RENAMED: [old: string, rundler: string, value: string][] = [
  ['max_bundle_size', 'builder.max_bundle_size', '7'],
  ['max_blocks_to_wait_for_mine', 'builder.max_blocks_to_wait_for_mine', '5'],
  ['replacement_fee_percent_increase', 'builder.replacement_fee_percent_increase', '13'],
  ['max_cancellation_fee_increases', 'builder.max_cancellation_fee_increases', '3'],
  ['max_replacement_underpriced_blocks', 'builder.max_replacement_underpriced_blocks', '9'],
  ['pool.max_verification_gas', 'max_verification_gas', '600000'],
  ['pool.min_base_fee_fraction_percent', 'base_fee_accept_percent', '80'],
  ['rpc.op_lookup_block_distance', 'user_operation_event_block_distance', '500'],
  ['signer.aws_kms_region', 'aws_region', 'eu-west-1'],
  ['pool.max_ops_per_unstaked_sender', 'pool.same_sender_mempool_count', '2'],
  ['pool.replacement_fee_percent_increase', 'pool.min_replacement_fee_increase_percentage', '25'],
  ['signer.enable_kms_leasing', 'signer.enable_kms_locking', 'false'],
]
const env = (name: string) => `CONVEYOR_${name.toUpperCase().replaceAll('.', '__')}`

describe("Rundler's option names", () => {
  it('flags under Rundler’s spelling parse to the same settings as today’s, which log one deprecation line each', () => {
    const old = load([...NODE, ...RENAMED.flatMap(([o, , v]) => [`--${o}`, v])])
    const rundler = load([...NODE, ...RENAMED.flatMap(([, r, v]) => [`--${r}`, v])])
    expect(rundler.cfg).toEqual(old.cfg)
    expect(rundler.cfg.max_blocks_to_wait_for_mine).toBe(5)
    expect(rundler.cfg.pool.max_ops_per_unstaked_sender).toBe(2)
    expect(rundler.cfg.signer.enable_kms_leasing).toBe(false)
    expect(rundler.warnings).toEqual([])
    expect(old.warnings).toHaveLength(RENAMED.length)
    for (const [o, r] of RENAMED) {
      expect(old.warnings).toContain(`--${o} is deprecated (command line): use --${r}`)
    }
  })

  it('CONVEYOR_* variables and config files take both spellings too', () => {
    const viaFlags = load([...NODE, ...RENAMED.flatMap(([, r, v]) => [`--${r}`, v])]).cfg
    const oldEnv = load(NODE, Object.fromEntries(RENAMED.map(([o, , v]) => [env(o), v])))
    const newEnv = load(NODE, Object.fromEntries(RENAMED.map(([, r, v]) => [env(r), v])))
    expect(oldEnv.cfg).toEqual(viaFlags)
    expect(newEnv.cfg).toEqual(viaFlags)
    expect(newEnv.warnings).toEqual([])
    expect(oldEnv.warnings).toContain(
      'CONVEYOR_MAX_BLOCKS_TO_WAIT_FOR_MINE is deprecated (environment): use CONVEYOR_BUILDER__MAX_BLOCKS_TO_WAIT_FOR_MINE',
    )

    // Files: nested like the flag names, or dotted keys.
    const nested = load(
      NODE,
      {},
      {
        builder: { max_blocks_to_wait_for_mine: 5, max_bundle_size: 7 },
        pool: { same_sender_mempool_count: 2 },
        max_verification_gas: 600000,
      },
    )
    const oldFile = load(
      NODE,
      {},
      {
        max_blocks_to_wait_for_mine: 5,
        max_bundle_size: 7,
        pool: { max_ops_per_unstaked_sender: 2, max_verification_gas: 600000 },
      },
    )
    expect(oldFile.cfg).toEqual(nested.cfg)
    expect(nested.cfg.max_blocks_to_wait_for_mine).toBe(5)
    expect(nested.warnings).toEqual([])
    expect(oldFile.warnings).toContain(
      'pool.max_ops_per_unstaked_sender is deprecated (config file /c.json): use pool.same_sender_mempool_count',
    )
  })

  it('refuses a value given under both spellings in one source, naming both', () => {
    expect(problems([...NODE, '--max_bundle_size', '5', '--builder.max_bundle_size', '5'])).toContain(
      '--max_bundle_size and --builder.max_bundle_size are two spellings of --builder.max_bundle_size: give it once (command line)',
    )
    expect(
      problems(NODE, { CONVEYOR_MAX_BUNDLE_SIZE: '5', CONVEYOR_BUILDER__MAX_BUNDLE_SIZE: '6' }),
    ).toContain('CONVEYOR_BUILDER__MAX_BUNDLE_SIZE and CONVEYOR_MAX_BUNDLE_SIZE are two spellings')
    expect(problems(NODE, {}, { max_bundle_size: 5, builder: { max_bundle_size: 6 } })).toContain(
      'max_bundle_size and builder.max_bundle_size are two spellings of builder.max_bundle_size',
    )
    // Across sources the usual precedence applies: the flag wins over the older env spelling.
    expect(
      load([...NODE, '--builder.max_bundle_size', '9'], { CONVEYOR_MAX_BUNDLE_SIZE: '5' }).cfg
        .max_bundle_size,
    ).toBe(9)
  })

  it('the bloXroute sender is polygon_bloxroute; bloxroute still works with a deprecation line', () => {
    const auth = ['--builder.bloxroute_auth_header', 'Bearer x']
    const now = load([...NODE, '--builder.sender', 'polygon_bloxroute', ...auth])
    const before = load([...NODE, '--builder.sender=bloxroute', ...auth])
    expect(now.cfg.builder.sender).toBe('polygon_bloxroute')
    expect(before.cfg).toEqual(now.cfg)
    expect(before.warnings).toEqual([
      '--builder.sender value bloxroute is deprecated (command line): use polygon_bloxroute',
    ])
    expect(problems([...NODE, '--builder.sender=polygon_bloxroute'])).toContain(
      '--builder.bloxroute_auth_header is required with --builder.sender=polygon_bloxroute',
    )
  })

  it('--rpc.corsdomain (also --rpc.cors_domains): none for node, * for dev, origins checked', () => {
    expect(load(NODE).cfg.rpc.corsdomain).toEqual([])
    expect(load([], {}, undefined, 'dev').cfg.rpc.corsdomain).toEqual(['*'])
    const two = load([...NODE, '--rpc.cors_domains', 'https://app.example, http://localhost:5173'])
    expect(two.cfg.rpc.corsdomain).toEqual(['https://app.example', 'http://localhost:5173'])
    expect(two.warnings).toEqual([])
    expect(problems([...NODE, '--rpc.corsdomain', 'https://app.example/path'])).toContain(
      'invalid --rpc.corsdomain',
    )
  })

  it('metrics: --metrics.port (8080) and --metrics.host (127.0.0.1); --metrics=false turns the server off', () => {
    expect(load(NODE).cfg.metrics).toEqual({ enabled: true, port: 8080, host: '127.0.0.1' })
    const cfg = load([...NODE, '--metrics=false', '--metrics.port', '9100', '--metrics.host', '0.0.0.0']).cfg
    expect(cfg.metrics).toEqual({ enabled: false, port: 9100, host: '0.0.0.0' })
    expect(load(NODE, { CONVEYOR_METRICS: 'false', CONVEYOR_METRICS__PORT: '9' }).cfg.metrics.port).toBe(9)
    expect(load(NODE, {}, { metrics: { port: 9101 } }).cfg.metrics.port).toBe(9101)
    expect(load(NODE, {}, { metrics: false }).cfg.metrics.enabled).toBe(false)
    expect(problems([...NODE, '--metrics.port', '3000'])).toContain(
      '--metrics.port and --rpc.port are both 3000',
    )
  })

  it('--help shows Rundler’s names, with the older spellings as "formerly"', () => {
    const help = helpText('0.0.0')
    const flat = help.replace(/\s+/g, ' ')
    expect(help).toContain('--builder.max_blocks_to_wait_for_mine <')
    expect(flat).toContain('formerly --max_blocks_to_wait_for_mine')
    expect(help).toContain('--pool.same_sender_mempool_count <')
    expect(help).toContain('--metrics.port <')
    expect(help).toContain('--rpc.corsdomain <')
    expect(flat).toContain('also --rpc.cors_domains')
    expect(help).toContain('one of raw | flashbots | polygon_bloxroute')
    expect(help).not.toMatch(/^ {2}--max_blocks_to_wait_for_mine/m)
    expect(help).not.toMatch(/^ {2}--pool\.max_ops_per_unstaked_sender/m)
  })

  it('the spelling table names only options that exist, and no spelling twice', () => {
    expect(() => listOptions(configSchema, [{ path: 'no_such_option', name: 'x' }])).toThrow(
      /unknown options/,
    )
    expect(() =>
      listOptions(configSchema, [
        { path: 'max_bundle_size', name: 'builder.max_bundle_size' },
        { path: 'num_signers', name: 'builder.max_bundle_size' },
      ]),
    ).toThrow(/used twice/)
    const names = OPTIONS.flatMap((o) => [o.name, ...o.deprecated, ...o.synonyms])
    expect(new Set(names).size).toBe(names.length)
  })
})

describe("Rundler's --rpc.api", () => {
  it('debug in the list serves the debug namespace, as --rpc.enable_debug_methods does', () => {
    expect(load([...NODE, '--rpc.api', 'eth,debug']).cfg.rpc.enable_debug_methods).toBe(true)
    expect(load([...NODE, '--rpc.api', 'eth']).cfg.rpc.enable_debug_methods).toBe(false)
    // It overrides the dev default (debug on) when given.
    expect(load(['--rpc.api', 'eth'], {}, undefined, 'dev').cfg.rpc.enable_debug_methods).toBe(false)
    expect(
      load([...NODE, '--rpc.api', 'eth,debug', '--rpc.enable_debug_methods']).cfg.rpc.enable_debug_methods,
    ).toBe(true)
  })

  it('refuses namespaces Conveyor does not have, and a disagreement with --rpc.enable_debug_methods', () => {
    expect(problems([...NODE, '--rpc.api', 'eth,rundler'])).toContain(
      '--rpc.api rundler (command line): Conveyor has no rundler namespace',
    )
    expect(problems([...NODE, '--rpc.api', 'eth', '--rpc.enable_debug_methods=true'])).toContain(
      '--rpc.api (command line) and --rpc.enable_debug_methods (command line) disagree about the debug namespace',
    )
    expect(problems([...NODE, '--rpc.api', 'eth,web3'])).toContain('invalid --rpc.api')
  })
})

describe('one error lists every problem', () => {
  it('cross-option checks still run when a value fails', () => {
    const message = problems([
      '--node_http',
      'http://127.0.0.1:8545',
      '--builder.max_bundle_size',
      'lots',
      '--builder.sender',
      'flashbots',
      '--num_signers',
      '2',
      '--signer.private_keys',
      KEY_A,
    ])
    expect(message).toContain('invalid --builder.max_bundle_size "lots"')
    expect(message).toContain(
      '--builder.flashbots_relay_auth_key is required with --builder.sender=flashbots',
    )
    expect(message).toContain('--num_signers=2 needs as many keys')
  })

  it('leaves out cross-checks about a value that failed (they would judge the default)', () => {
    const message = problems([...NODE, '--num_signers', 'two'])
    expect(message).toContain('invalid --num_signers "two"')
    expect(message).not.toContain('needs as many keys')
  })
})

describe('README', () => {
  it('its option table lists every option under its current name, with its earlier spellings', async () => {
    const { readFileSync } = await import('node:fs')
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
    for (const o of OPTIONS) {
      expect(readme, o.name).toContain(`| \`--${o.name}\` |`)
      for (const d of o.deprecated) expect(readme, d).toContain(`\`--${d}\``)
    }
  })
})
