import { privateKeyToAddress } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { ENTRY_POINTS } from '../src/chain/entrypoint.js'
import {
  type Command,
  type Config,
  ConfigError,
  helpText,
  type LoadOptions,
  loadConfig,
  loggableConfig,
  OPTIONS,
} from '../src/config/index.js'

const KEY_A = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d'
const KEY_B = '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a'
const MNEMONIC = 'test test test test test test test test test test test junk'
const AUTH_HEADER = 'Bearer s3cr3t-bloxroute-token'

type Files = Record<string, string>
function reader(files: Files) {
  return (path: string) => {
    const text = files[path]
    if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' })
    return text
  }
}

function load(argv: string[], env: Record<string, string> = {}, files: Files = {}, command: Command = 'dev') {
  const opts: LoadOptions = { command, argv, env, readFile: reader(files) }
  return loadConfig(opts)
}

/** The ConfigError's message, failing the test if loading succeeds. */
function problem(
  argv: string[],
  env: Record<string, string> = {},
  files: Files = {},
  command: Command = 'dev',
) {
  try {
    load(argv, env, files, command)
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return (err as ConfigError).message
  }
  throw new Error(`expected ${JSON.stringify(argv)} to be rejected`)
}

describe('defaults', () => {
  it('fills every option that has a default', () => {
    const cfg = load([])
    expect(cfg.rpc).toEqual({
      host: '127.0.0.1',
      port: 3000,
      enable_debug_methods: true,
      max_request_body_bytes: 1 << 20,
      op_lookup_block_distance: 10_000n,
      corsdomain: ['*'],
      max_connections: 100,
      rate_limit_per_ip: 0,
      rate_limit_window_millis: 1000,
    })
    expect(cfg.metrics).toEqual({ enabled: true, port: 8080, host: '127.0.0.1' })
    expect(cfg.max_bundle_size).toBe(128)
    expect(cfg.max_blocks_to_wait_for_mine).toBe(2)
    expect(cfg.replacement_fee_percent_increase).toBe(10)
    expect(cfg.max_cancellation_fee_increases).toBe(15)
    expect(cfg.max_replacement_underpriced_blocks).toBe(20)
    expect(cfg.bundle_base_fee_overhead_percent).toBe(27)
    expect(cfg.priority_fee_mode_kind).toBe('priority_fee_increase_percent')
    expect(cfg.bundle_max_send_interval_millis).toBeUndefined() // the chain spec decides
    expect(cfg.entry_points).toEqual([
      ENTRY_POINTS['v0.6'].address,
      ENTRY_POINTS['v0.7'].address,
      ENTRY_POINTS['v0.8'].address,
      ENTRY_POINTS['v0.9'].address,
    ])
    expect(cfg.min_stake_value).toBe(10n ** 18n)
    expect(cfg.pool.max_verification_gas).toBe(5_000_000n)
    expect(cfg.signer.redis_lock_ttl_millis).toBe(60_000)
    expect(cfg.dev).toEqual({ chain_port: 0, block_time: 1 })
    expect(cfg.log.level).toBe('info')
    expect(cfg.sim.tracer).toBe('auto')
  })

  it('--sim.tracer takes auto, native or js, from flags and the environment', () => {
    expect(load(['--sim.tracer', 'native']).sim.tracer).toBe('native')
    expect(load([], { CONVEYOR_SIM__TRACER: 'js' }).sim.tracer).toBe('js')
    expect(problem(['--sim.tracer', 'geth'])).toContain('--sim.tracer')
  })

  it('enables debug methods by default only under `conveyor dev`', () => {
    const node = load(
      ['--node_http', 'http://127.0.0.1:8545', '--signer.private_keys', KEY_A],
      {},
      {},
      'node',
    )
    expect(node.rpc.enable_debug_methods).toBe(false)
    expect(load([]).rpc.enable_debug_methods).toBe(true)
    expect(load(['--rpc.enable_debug_methods=false']).rpc.enable_debug_methods).toBe(false)
  })
})

describe('sources and precedence', () => {
  const file = JSON.stringify({
    rpc: { port: 1111, host: '0.0.0.0' },
    max_bundle_size: 5,
    'log.level': 'debug',
    pool: { max_ops: 7 },
  })

  it('flags override env, env overrides the file, the file overrides defaults', () => {
    const cfg = load(
      ['--config', '/etc/conveyor.json', '--rpc.port', '3333'],
      { CONVEYOR_RPC__PORT: '2222', CONVEYOR_MAX_BUNDLE_SIZE: '6' },
      { '/etc/conveyor.json': file },
    )
    expect(cfg.rpc.port).toBe(3333) // flag
    expect(cfg.max_bundle_size).toBe(6) // env over file
    expect(cfg.rpc.host).toBe('0.0.0.0') // file
    expect(cfg.log.level).toBe('debug') // file, dotted key
    expect(cfg.pool.max_ops).toBe(7) // file, nested
    expect(cfg.pool.max_ops_per_unstaked_sender).toBe(4) // default
  })

  it('takes the config path from CONVEYOR_CONFIG too', () => {
    const cfg = load([], { CONVEYOR_CONFIG: '/c.json' }, { '/c.json': file })
    expect(cfg.rpc.port).toBe(1111)
  })

  it('reads `--name value`, `--name=value` and boolean flags', () => {
    const cfg = load([
      '--max_blocks_to_wait_for_mine',
      '3',
      '--priority_fee_mode_kind=base_fee_percent',
      '--unsafe',
      '--metrics=false',
      '--builder.use_conditional_rpc',
      'false',
      '--dev.block_time=0.25',
    ])
    expect(cfg.max_blocks_to_wait_for_mine).toBe(3)
    expect(cfg.priority_fee_mode_kind).toBe('base_fee_percent')
    expect(cfg.unsafe).toBe(true)
    expect(cfg.metrics.enabled).toBe(false)
    expect(cfg.builder.use_conditional_rpc).toBe(false)
    expect(cfg.dev.block_time).toBe(0.25)
  })

  it('maps env names as CONVEYOR_ + upper-cased flag name with "." as "__"', () => {
    for (const o of OPTIONS) expect(o.env).toBe(`CONVEYOR_${o.name.toUpperCase().replaceAll('.', '__')}`)
    const cfg = load([], {
      CONVEYOR_SIGNER__PRIVATE_KEYS: `${KEY_A},${KEY_B}`,
      CONVEYOR_MAX_BUNDLE_SIZE: '64',
      CONVEYOR_POOL__MIN_PRIORITY_FEE_PER_GAS: '0x3b9aca00',
      CONVEYOR_LOG_LEVEL: 'warn', // the alias src/util/log.ts also reads
      CONVEYOR_UNUSED_BLANK: '', // blanks count as unset
    })
    expect(cfg.signer.private_keys).toEqual([KEY_A, KEY_B])
    expect(cfg.max_bundle_size).toBe(64)
    expect(cfg.pool.min_priority_fee_per_gas).toBe(1_000_000_000n)
    expect(cfg.log.level).toBe('warn')
  })

  it('prefers CONVEYOR_LOG__LEVEL over its alias', () => {
    expect(load([], { CONVEYOR_LOG_LEVEL: 'warn', CONVEYOR_LOG__LEVEL: 'error' }).log.level).toBe('error')
  })

  it('parses lists: entry points by version or address, addresses checksummed', () => {
    const cfg = load([
      '--entry_points',
      `v0.8, ${ENTRY_POINTS['v0.7'].address.toLowerCase()}`,
      '--pool.blocklist=0x4e59b44847b379578588920ca78fbf26c0b4956c',
    ])
    expect(cfg.entry_points).toEqual([ENTRY_POINTS['v0.8'].address, ENTRY_POINTS['v0.7'].address])
    expect(cfg.pool.blocklist).toEqual(['0x4e59b44847b379578588920cA78FbF26c0B4956C'])
    expect(load([], {}, { '/f.json': JSON.stringify({ entry_points: ['v0.7'] }) }, 'dev')).toBeTruthy()
    const fromFile = load(['--config=/f.json'], {}, { '/f.json': JSON.stringify({ entry_points: ['v0.7'] }) })
    expect(fromFile.entry_points).toEqual([ENTRY_POINTS['v0.7'].address])
  })

  it('--aggregators from a flag, CONVEYOR_AGGREGATORS or the file; none by default; a bad address is refused', () => {
    const A = '0x4e59b44847b379578588920cA78FbF26c0B4956C'
    const B = '0x00000000000000000000000000000000000000AA'
    expect(load([]).aggregators).toEqual([])
    expect(load([`--aggregators=${A.toLowerCase()},${B.toLowerCase()}`]).aggregators).toEqual([A, B])
    expect(load([], { CONVEYOR_AGGREGATORS: A }).aggregators).toEqual([A])
    const file = { '/f.json': JSON.stringify({ aggregators: [B] }) }
    expect(load(['--config=/f.json'], {}, file).aggregators).toEqual([B])
    expect(problem(['--aggregators=0x1234'])).toContain('--aggregators')
  })

  it('reads signer keys from --signer.private_keys_file, skipping comments', () => {
    const cfg = load(
      ['--signer.private_keys_file', '/keys'],
      {},
      { '/keys': `# signers\n${KEY_A}\n\n${KEY_B} # second\n` },
    )
    expect(cfg.signer.private_keys).toEqual([KEY_A, KEY_B])
  })
})

describe('bad values stop start-up naming the option, the value and what it accepts', () => {
  const cases: [string[], string, string, string][] = [
    [
      ['--max_blocks_to_wait_for_mine=-1'],
      '--max_blocks_to_wait_for_mine',
      '"-1"',
      'an integer from 1 to 1000',
    ],
    [
      ['--priority_fee_mode_kind=bogus'],
      '--priority_fee_mode_kind',
      '"bogus"',
      'one of priority_fee_increase_percent | base_fee_percent',
    ],
    [['--rpc.port', 'abc'], '--rpc.port', '"abc"', 'an integer from 0 to 65535'],
    [['--rpc.port', '70000'], '--rpc.port', '"70000"', 'an integer from 0 to 65535'],
    [['--max_bundle_size=1.5'], '--max_bundle_size', '"1.5"', 'an integer'],
    [['--max_bundle_size='], '--max_bundle_size', '""', 'an integer'],
    [['--unsafe=maybe'], '--unsafe', '"maybe"', 'true or false'],
    [['--min_stake_value=1.5'], '--min_stake_value', '"1.5"', 'wei'],
    [['--pool.max_verification_gas=-5'], '--pool.max_verification_gas', '"-5"', 'gas'],
    [['--node_http=ftp://example'], '--node_http', '"ftp://example"', 'an http(s) URL'],
    [['--signer.redis_uri=http://x'], '--signer.redis_uri', '"http://x"', 'redis://'],
    [['--pool.allowlist=0x12,nope'], '--pool.allowlist', '"0x12,nope"', 'addresses'],
    [['--entry_points=0x4e59b44847b379578588920ca78fbf26c0b4956c'], '--entry_points', '0x4e59', 'v0.7, v0.8'],
    [['--dev.block_time=-1'], '--dev.block_time', '"-1"', 'fractions allowed'],
    [['--bundling_mode', 'sometimes'], '--bundling_mode', '"sometimes"', 'auto | manual'],
    [['--log.level=loud'], '--log.level', '"loud"', 'one of trace'],
  ]
  it.each(cases)('%j', (argv, option, value, accepts) => {
    const message = problem(argv)
    expect(message).toContain(option)
    expect(message).toContain(value)
    expect(message).toContain(accepts)
  })

  it('says where a bad value came from', () => {
    expect(problem([], { CONVEYOR_RPC__PORT: 'x' })).toContain('environment CONVEYOR_RPC__PORT')
    expect(problem(['--config', '/c.json'], {}, { '/c.json': '{"rpc":{"port":-2}}' })).toContain(
      'config file /c.json',
    )
  })

  it('lists every problem in one message', () => {
    const message = problem(['--max_blocks_to_wait_for_mine=-1', '--priority_fee_mode_kind=bogus'])
    expect(message.split('\n').filter((l) => l.includes('invalid --'))).toHaveLength(2)
  })

  it('rejects unknown options from every source, with a suggestion', () => {
    expect(problem(['--rpc.prot', '5'])).toMatch(/unknown option --rpc\.prot .*did you mean --rpc\.port\?/)
    expect(problem([], { CONVEYOR_MAX_BUNDEL_SIZE: '5' })).toContain(
      'unknown option CONVEYOR_MAX_BUNDEL_SIZE',
    )
    expect(problem(['--config=/c.json'], {}, { '/c.json': '{"pool":{"max_opps":1}}' })).toContain(
      'unknown option pool.max_opps',
    )
    expect(problem(['dev'])).toContain('unexpected argument "dev"')
  })

  it('rejects a flag given twice and a value-less flag', () => {
    expect(problem(['--rpc.port=1', '--rpc.port=2'])).toContain('--rpc.port is given more than once')
    expect(problem(['--rpc.port'])).toContain('--rpc.port needs a value')
  })

  it('reports an unreadable or malformed config file', () => {
    expect(problem(['--config=/missing.json'])).toContain('cannot read config file /missing.json: ENOENT')
    expect(problem(['--config=/bad.json'], {}, { '/bad.json': '{"rpc": ' })).toContain('is not valid JSON')
  })
})

describe('rules across options', () => {
  it('requires --node_http and signers for `conveyor node`', () => {
    const message = problem([], {}, {}, 'node')
    expect(message).toContain('--node_http is required')
    expect(message).toContain('needs bundle signers')
  })

  it('requires redis for KMS leasing, relay credentials for relays, raw for conditional', () => {
    expect(problem(['--signer.aws_kms_key_ids=k1'])).toContain('--signer.redis_uri is required')
    expect(
      load(['--signer.aws_kms_key_ids=k1', '--signer.enable_kms_leasing=false']).signer.aws_kms_key_ids,
    ).toEqual(['k1'])
    expect(problem(['--builder.sender=flashbots'])).toContain(
      '--builder.flashbots_relay_auth_key is required',
    )
    expect(problem(['--builder.sender=bloxroute'])).toContain('--builder.bloxroute_auth_header is required')
    expect(
      problem([
        '--builder.sender=bloxroute',
        `--builder.bloxroute_auth_header=${AUTH_HEADER}`,
        '--builder.use_conditional_rpc',
      ]),
    ).toContain('--builder.use_conditional_rpc works only with --builder.sender=raw')
  })

  it('wants as many keys as signers, one source of keys, no duplicates', () => {
    expect(problem(['--num_signers=2', `--signer.private_keys=${KEY_A}`])).toContain(
      '--num_signers=2 needs as many keys',
    )
    expect(problem([`--signer.private_keys=${KEY_A}`, `--signer.mnemonic=${MNEMONIC}`])).toContain(
      'give one signer source',
    )
    expect(problem([`--signer.private_keys=${KEY_A},${KEY_A}`])).toContain('same key twice')
    expect(
      problem([`--signer.private_keys=${KEY_A}`, '--signer.private_keys_file=/k'], {}, { '/k': KEY_B }),
    ).toContain('not both')
  })
})

describe('secrets are never echoed', () => {
  const BAD_KEY = '0xfeedfacefeedfacefeedfacefeedface' // too short, but still someone's secret
  const secrets = [KEY_A, KEY_B, BAD_KEY, MNEMONIC, AUTH_HEADER, 'feedface']

  function expectNoSecret(text: string) {
    for (const s of secrets) expect(text).not.toContain(s)
  }

  it('not in errors about a bad secret value, from any source', () => {
    for (const message of [
      problem([`--signer.private_keys=${KEY_A},${BAD_KEY}`]),
      problem([], { CONVEYOR_SIGNER__PRIVATE_KEYS: BAD_KEY }),
      problem(
        ['--config=/c.json'],
        {},
        { '/c.json': JSON.stringify({ signer: { private_keys: [BAD_KEY] } }) },
      ),
      problem(['--signer.private_keys_file=/k'], {}, { '/k': `${KEY_A}\n${BAD_KEY}\n` }),
      problem([`--signer.mnemonic=${MNEMONIC} feedface`]),
      problem([`--builder.flashbots_relay_auth_key=${BAD_KEY}`]),
    ]) {
      expect(message).toContain('(value hidden)')
      expectNoSecret(message)
    }
  })

  it('not in errors about other options, nor for a mistyped secret flag', () => {
    const message = problem([
      `--signer.private_key=${KEY_A}`,
      '--signer.mnemonik',
      MNEMONIC,
      `--builder.bloxroute_auth_header=${AUTH_HEADER}`,
      '--rpc.port=-1',
    ])
    expect(message).toContain('unknown option --signer.private_key ')
    expect(message).toContain('--rpc.port')
    expectNoSecret(message)
    expectNoSecret(problem([MNEMONIC]))
    expectNoSecret(problem(['--signer.private_keys', KEY_A, KEY_B]))
  })

  it('not in a config file parse error', () => {
    const message = problem(['--config=/c.json'], {}, { '/c.json': `{"signer": {"private_keys": ${KEY_A}}}` })
    expect(message).toContain('is not valid JSON')
    expectNoSecret(message)
  })

  it('not in --help, which documents every option with its default', () => {
    const help = helpText('0.0.0')
    for (const o of OPTIONS) {
      const start = help.indexOf(`  --${o.name}`)
      const entry = help.slice(start, help.indexOf(o.env, start) + o.env.length).replace(/\s+/g, ' ')
      expect(entry.startsWith(` --${o.name}`)).toBe(true)
      expect(entry).toContain(`default: ${o.defaultText ?? 'none'}`)
      if (o.secret) expect(entry).toContain('secret, never printed')
    }
    expect(OPTIONS.filter((o) => o.secret).map((o) => o.name)).toEqual([
      'builder.flashbots_relay_auth_key',
      'builder.bloxroute_auth_header',
      'signer.private_keys',
      'signer.mnemonic',
    ])
    expect(help).toContain('default: 128')
    expect(help).toContain('default: 27')
    expectNoSecret(help)
  })

  it('not in the loggable config', () => {
    const cfg: Config = load([
      `--signer.private_keys=${KEY_A}`,
      `--builder.bloxroute_auth_header=${AUTH_HEADER}`,
      '--builder.sender=bloxroute',
    ])
    expect(cfg.signer.private_keys).toEqual([KEY_A])
    const logged = JSON.stringify(loggableConfig(cfg))
    expectNoSecret(logged)
    expect(logged).toContain('"private_keys":"[redacted]"')
    expect(logged).toContain('"min_stake_value":"1000000000000000000"')
    expect(logged).not.toContain(privateKeyToAddress(KEY_A).slice(2)) // not even derived data
  })
})
