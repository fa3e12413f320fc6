import type { Config } from './schema.js'

/** `node` runs everything; `rpc` (RPC and admission) and `builder` (bundle senders) split it over processes sharing a Redis pool. */
export type Command = 'dev' | 'node' | 'rpc' | 'builder'

/** Rules that span options or depend on the command; each problem names the options involved. */
export function crossCheck(cfg: Config, command: Command): string[] {
  const problems: string[] = []
  const s = cfg.signer
  if (command !== 'dev' && !cfg.node_http) {
    problems.push(
      `--node_http is required by \`conveyor ${command}\`: expects an http(s) URL (or CONVEYOR_NODE_HTTP)`,
    )
  }
  if ((command === 'rpc' || command === 'builder') && !cfg.pool.redis_uri) {
    problems.push(
      `\`conveyor ${command}\` shares its pool with other processes: --pool.redis_uri is required (or CONVEYOR_POOL__REDIS_URI)`,
    )
  }

  const keys = s.private_keys ?? []
  const kms = s.aws_kms_key_ids ?? []
  const sources = [keys.length > 0, s.mnemonic !== undefined, kms.length > 0].filter(Boolean).length
  if (sources > 1) {
    problems.push(
      'give one signer source: --signer.private_keys (or _file), --signer.mnemonic or --signer.aws_kms_key_ids',
    )
  }
  if ((command === 'node' || command === 'builder') && sources === 0) {
    problems.push(
      `\`conveyor ${command}\` needs bundle signers: --signer.private_keys, --signer.private_keys_file, --signer.mnemonic or --signer.aws_kms_key_ids`,
    )
  }
  if (keys.length > 0 && keys.length < cfg.num_signers) {
    problems.push(
      `--num_signers=${cfg.num_signers} needs as many keys; --signer.private_keys has ${keys.length}`,
    )
  }
  if (new Set(keys).size !== keys.length) problems.push('--signer.private_keys lists the same key twice')
  if (kms.length > 0 && kms.length < cfg.num_signers) {
    problems.push(
      `--num_signers=${cfg.num_signers} needs as many keys; --signer.aws_kms_key_ids has ${kms.length}`,
    )
  }
  if (kms.length > 0 && s.enable_kms_leasing && !s.redis_uri) {
    problems.push(
      '--signer.redis_uri is required to lease KMS keys (or set --signer.enable_kms_locking=false)',
    )
  }

  const b = cfg.builder
  if (b.sender === 'flashbots' && !b.flashbots_relay_auth_key) {
    problems.push('--builder.flashbots_relay_auth_key is required with --builder.sender=flashbots')
  }
  if (b.sender === 'polygon_bloxroute' && !b.bloxroute_auth_header) {
    problems.push('--builder.bloxroute_auth_header is required with --builder.sender=polygon_bloxroute')
  }
  if (b.use_conditional_rpc && b.sender !== 'raw') {
    problems.push(`--builder.use_conditional_rpc works only with --builder.sender=raw, not ${b.sender}`)
  }
  if (cfg.entry_points.length === 0) problems.push('--enabled_entry_points must name at least one EntryPoint')
  const m = cfg.metrics
  if (m.enabled && m.port !== 0 && m.port === cfg.rpc.port && m.host === cfg.rpc.host) {
    problems.push(
      `--metrics.port and --rpc.port are both ${m.port}: the metrics server needs its own port (or --metrics=false)`,
    )
  }
  return problems
}
