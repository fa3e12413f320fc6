import { pino } from 'pino'

/**
 * Structured logs. Anything that may carry a secret is redacted by path, and the signer code never
 * logs key material in the first place; redaction is the second line of defence.
 */
export const REDACT_PATHS = [
  'privateKey',
  '*.privateKey',
  'privateKeys',
  '*.privateKeys',
  'mnemonic',
  '*.mnemonic',
  'authHeader',
  '*.authHeader',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'relayAuthKey',
  '*.relayAuthKey',
  // The config's own spellings (cfg.signer.private_keys, cfg.builder.flashbots_relay_auth_key, …).
  'private_keys',
  '*.private_keys',
  '*.*.private_keys',
  '*.*.mnemonic',
  'flashbots_relay_auth_key',
  '*.flashbots_relay_auth_key',
  '*.*.flashbots_relay_auth_key',
  'bloxroute_auth_header',
  '*.bloxroute_auth_header',
  '*.*.bloxroute_auth_header',
]

export type Logger = pino.Logger

export function createLogger(opts: { level?: string; name?: string } = {}): Logger {
  return pino(
    {
      name: opts.name ?? 'conveyor',
      level: opts.level ?? process.env.CONVEYOR_LOG_LEVEL ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: { err: pino.stdSerializers.err },
    },
    pino.destination(2),
  )
}

/** A logger that writes nothing, for tests and library defaults. */
export const silentLogger: Logger = pino({ level: 'silent' })
