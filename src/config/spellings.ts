/**
 * How options are spelled on the command line, in CONVEYOR_* variables and in config files, where
 * that differs from where the value lives in the Config object. An operator moving from Rundler
 * keeps their flags: the flag name is Rundler's wherever Rundler has the option. Earlier Conveyor
 * spellings stay accepted (one deprecation line each time they are used); synonyms are accepted
 * silently. An option without a row here is spelled as its config path.
 *
 * Options added later slot in with one row: `{ path, name, deprecated?, synonyms? }`.
 */
export interface Spelling {
  /** Dotted path of the value in the Config object. */
  path: string
  /** The flag name (Rundler's spelling). */
  name: string
  /** Earlier Conveyor spellings: accepted, with a deprecation line naming `name`. */
  deprecated?: readonly string[]
  /** Also accepted, without a warning (shown in --help). */
  synonyms?: readonly string[]
}

export const SPELLINGS: readonly Spelling[] = [
  // Rundler's builder options live under --builder.
  { path: 'max_bundle_size', name: 'builder.max_bundle_size', deprecated: ['max_bundle_size'] },
  {
    path: 'max_blocks_to_wait_for_mine',
    name: 'builder.max_blocks_to_wait_for_mine',
    deprecated: ['max_blocks_to_wait_for_mine'],
  },
  {
    path: 'replacement_fee_percent_increase',
    name: 'builder.replacement_fee_percent_increase',
    deprecated: ['replacement_fee_percent_increase'],
  },
  {
    path: 'max_cancellation_fee_increases',
    name: 'builder.max_cancellation_fee_increases',
    deprecated: ['max_cancellation_fee_increases'],
  },
  {
    path: 'max_replacement_underpriced_blocks',
    name: 'builder.max_replacement_underpriced_blocks',
    deprecated: ['max_replacement_underpriced_blocks'],
  },
  // Rundler's common options.
  { path: 'entry_points', name: 'enabled_entry_points', synonyms: ['entry_points'] },
  {
    path: 'pool.max_verification_gas',
    name: 'max_verification_gas',
    deprecated: ['pool.max_verification_gas'],
  },
  {
    path: 'pool.min_base_fee_fraction_percent',
    name: 'base_fee_accept_percent',
    deprecated: ['pool.min_base_fee_fraction_percent'],
  },
  {
    path: 'rpc.op_lookup_block_distance',
    name: 'user_operation_event_block_distance',
    deprecated: ['rpc.op_lookup_block_distance'],
  },
  { path: 'signer.aws_kms_region', name: 'aws_region', deprecated: ['signer.aws_kms_region'] },
  // Rundler's pool options.
  {
    path: 'pool.max_ops_per_unstaked_sender',
    name: 'pool.same_sender_mempool_count',
    deprecated: ['pool.max_ops_per_unstaked_sender'],
  },
  {
    path: 'pool.replacement_fee_percent_increase',
    name: 'pool.min_replacement_fee_increase_percentage',
    deprecated: ['pool.replacement_fee_percent_increase'],
  },
  // Rundler's signer options.
  {
    path: 'signer.enable_kms_leasing',
    name: 'signer.enable_kms_locking',
    deprecated: ['signer.enable_kms_leasing'],
  },
  // Rundler's RPC options; `rpc.cors_domains` is the spelling Conveyor's issue tracker used.
  { path: 'rpc.corsdomain', name: 'rpc.corsdomain', synonyms: ['rpc.cors_domains'] },
  // `--metrics=false` turns the metrics server off; its settings are metrics.*.
  { path: 'metrics.enabled', name: 'metrics' },
]

/** Values that were renamed: the old value is accepted with a deprecation line. */
export interface ValueRename {
  /** Flag name of the option. */
  name: string
  from: string
  to: string
}

export const VALUE_RENAMES: readonly ValueRename[] = [
  { name: 'builder.sender', from: 'bloxroute', to: 'polygon_bloxroute' },
]
