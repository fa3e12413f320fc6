import {
  type Command,
  type Config,
  ConfigError,
  helpText,
  loadConfig,
  loggableConfig,
} from '../config/index.js'
import { createLogger } from '../util/log.js'
import { runDev } from './dev.js'
import { errorSummary, Lifecycle } from './lifecycle.js'
import { runNode } from './node.js'
import { banner, readyLine } from './ready.js'
import { StartupError } from './startup-error.js'
import { conveyorVersion } from './version.js'

const COMMANDS: readonly Command[] = ['dev', 'node', 'rpc', 'builder']
// Usage errors (bad options) exit 2, failures to start exit 1.
const EXIT_USAGE = 2

function fail(message: string, code: number): never {
  process.stderr.write(`conveyor: ${message}\n`)
  process.exit(code)
}

async function main(argv: string[]): Promise<void> {
  const version = conveyorVersion()
  if (argv.includes('--help') || argv.includes('-h') || argv[0] === 'help') {
    process.stdout.write(helpText(version))
    return
  }
  if (argv.includes('--version') || argv.includes('-V')) {
    process.stdout.write(`conveyor ${version}\n`)
    return
  }
  const [command, ...rest] = argv
  if (!COMMANDS.includes(command as Command)) {
    const what = command === undefined ? 'no command' : `unknown command ${JSON.stringify(command)}`
    fail(
      `${what}: use \`conveyor dev\`, \`conveyor node --node_http URL\`, or \`conveyor rpc\` / \`conveyor builder\` with --pool.redis_uri (see conveyor --help)`,
      EXIT_USAGE,
    )
  }

  let config: Config
  const deprecations: string[] = []
  try {
    config = loadConfig({
      command: command as Command,
      argv: rest,
      env: process.env,
      warn: (line) => deprecations.push(line),
    })
  } catch (err) {
    if (err instanceof ConfigError) fail(`${err.message}\n(see conveyor --help)`, EXIT_USAGE)
    throw err
  }

  const log = createLogger({ level: config.log.level })
  for (const line of deprecations) log.warn({ deprecated: true }, line)
  log.debug({ config: loggableConfig(config) }, 'configuration')
  const life = new Lifecycle(log)
  life.install()
  try {
    const ready =
      command === 'dev'
        ? await runDev(config, log, life)
        : await runNode(config, log, life, command as Exclude<Command, 'dev'>)
    if (life.isStopping) return
    process.stdout.write(banner(ready, version))
    process.stdout.write(`${readyLine(ready)}\n`)
  } catch (err) {
    if (life.isStopping) return
    log.error({ err: errorSummary(err) }, 'start-up failed')
    await life.shutdown()
    fail(err instanceof StartupError ? err.message : `start-up failed: ${errorSummary(err).message}`, 1)
  }
}

await main(process.argv.slice(2))
