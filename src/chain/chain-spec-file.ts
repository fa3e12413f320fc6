import { readFileSync } from 'node:fs'
import { parse as parseToml } from 'smol-toml'
import { getAddress, isAddress } from 'viem'
import { type ChainSpec, chainSpecFor, NETWORK_NAMES, NETWORKS, type NetworkName } from './chain-spec.js'

/** A chain spec that cannot be used: the message names the file, the field and why. */
export class ChainSpecError extends Error {
  override name = 'ChainSpecError'
}

type Setter = (s: ChainSpec, v: unknown, field: string) => void

const whole = (v: unknown, field: string): bigint => {
  // Rundler's files write large numbers as hex strings ("0x0F4240").
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v)
  if (typeof v === 'bigint' && v >= 0n) return v
  if (typeof v === 'string' && /^(0x[0-9a-fA-F]+|[0-9]+)$/.test(v)) return BigInt(v)
  throw new ChainSpecError(
    `${field} must be a non-negative integer (or a hex string), got ${JSON.stringify(String(v))}`,
  )
}
const flag = (v: unknown, field: string): boolean => {
  if (typeof v !== 'boolean') throw new ChainSpecError(`${field} must be true or false`)
  return v
}
const oneOf = <T extends string>(v: unknown, field: string, map: Record<string, T>): T => {
  const key = typeof v === 'string' ? v.toUpperCase() : ''
  const out = map[key]
  if (out === undefined)
    throw new ChainSpecError(
      `${field} must be one of ${Object.keys(map).join(', ')}, got ${JSON.stringify(v)}`,
    )
  return out
}
const num = (v: unknown, field: string): number => {
  const b = whole(v, field)
  if (b > BigInt(Number.MAX_SAFE_INTEGER)) throw new ChainSpecError(`${field} is too large`)
  return Number(b)
}

/**
 * The fields a chain spec file may set, by Rundler's names where Rundler has the field (Conveyor's
 * own: `expected_bundle_size`). Unknown fields are refused, so a typo is not silently ignored.
 */
const FIELDS: Record<string, Setter> = {
  name: (s, v, f) => {
    if (typeof v !== 'string' || v === '') throw new ChainSpecError(`${f} must be a non-empty string`)
    s.name = v
  },
  id: (s, v, f) => {
    s.chainId = num(v, f)
  },
  block_gas_limit: (s, v, f) => {
    s.blockGasLimit = whole(v, f)
  },
  // Rundler: 0 means no per-transaction cap.
  transaction_gas_limit: (s, v, f) => {
    const g = whole(v, f)
    s.maxTransactionGas = g === 0n ? (1n << 64n) - 1n : g
  },
  max_transaction_size_bytes: (s, v, f) => {
    s.maxTransactionSizeBytes = num(v, f)
  },
  transaction_intrinsic_gas: (s, v, f) => {
    s.pvg = { ...s.pvg, fixed: whole(v, f) }
  },
  per_user_op_v0_7_gas: (s, v, f) => {
    s.pvg = { ...s.pvg, perUserOp: whole(v, f) }
  },
  per_user_op_word_gas: (s, v, f) => {
    s.pvg = { ...s.pvg, perUserOpWord: whole(v, f) }
  },
  expected_bundle_size: (s, v, f) => {
    const n = whole(v, f)
    if (n < 1n) throw new ChainSpecError(`${f} must be at least 1`)
    s.pvg = { ...s.pvg, expectedBundleSize: n }
  },
  da_pre_verification_gas: (s, v, f) => {
    s.da = { ...s.da, inPreVerificationGas: flag(v, f) }
  },
  da_gas_oracle_type: (s, v, f) => {
    const oracle = oneOf(v, f, {
      NONE: 'none',
      OPTIMISM_BEDROCK: 'optimism_bedrock',
      LOCAL_BEDROCK: 'optimism_bedrock',
      ARBITRUM_NITRO: 'arbitrum_nitro',
      CACHED_NITRO: 'arbitrum_nitro',
    } as const)
    s.da = { ...s.da, oracle }
  },
  da_gas_oracle_contract_address: (s, v, f) => {
    if (typeof v !== 'string' || !isAddress(v, { strict: false }))
      throw new ChainSpecError(`${f} must be a 20-byte address`)
    s.da = { ...s.da, address: getAddress(v) }
  },
  include_da_gas_in_gas_limit: (s, v, f) => {
    s.da = { ...s.da, inGasLimit: flag(v, f) }
  },
  eip7623_enabled: (s, v, f) => {
    s.eip7623 = { ...s.eip7623, enabled: flag(v, f) }
  },
  eip7623_calldata_floor_zero_byte_gas: (s, v, f) => {
    s.eip7623 = { ...s.eip7623, floorZeroByteGas: whole(v, f) }
  },
  eip7623_calldata_floor_non_zero_byte_gas: (s, v, f) => {
    s.eip7623 = { ...s.eip7623, floorNonZeroByteGas: whole(v, f) }
  },
  priority_fee_oracle_type: (s, v, f) => {
    s.priorityFeeOracle = oneOf(v, f, {
      PROVIDER: 'provider',
      USAGE_BASED: 'usage_based',
      NONE: 'none',
    } as const)
  },
  min_max_priority_fee_per_gas: (s, v, f) => {
    s.minPriorityFeePerGas = whole(v, f)
  },
  bundle_max_send_interval_millis: (s, v, f) => {
    const ms = num(v, f)
    if (ms < 1) throw new ChainSpecError(`${f} must be at least 1`)
    s.bundleMaxSendIntervalMillis = ms
  },
  flashbots_enabled: (s, v, f) => {
    s.flashbots = flag(v, f)
  },
  bloxroute_enabled: (s, v, f) => {
    s.bloxroute = flag(v, f)
  },
}

/** The field names a chain spec file may use. */
export const CHAIN_SPEC_FIELDS = [...Object.keys(FIELDS), 'base']

/** Reads a chain spec file: TOML, or JSON when the name ends in .json. */
export function readChainSpecFile(path: string): Record<string, unknown> {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new ChainSpecError(`cannot read --chain_spec ${path}: ${(err as Error).message}`)
  }
  try {
    const parsed: unknown = path.toLowerCase().endsWith('.json') ? JSON.parse(text) : parseToml(text)
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error('the file must hold one table of fields')
    return parsed as Record<string, unknown>
  } catch (err) {
    throw new ChainSpecError(
      `--chain_spec ${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'TOML'}: ${(err as Error).message.split('\n')[0]}`,
    )
  }
}

/** `fields` (Rundler's names) laid over `base`; a new object, `base` untouched. */
export function applyChainSpecFields(
  base: ChainSpec,
  fields: Record<string, unknown>,
  source: string,
): ChainSpec {
  const out: ChainSpec = { ...base, pvg: { ...base.pvg }, da: { ...base.da }, eip7623: { ...base.eip7623 } }
  for (const [key, value] of Object.entries(fields)) {
    if (key === 'base') continue
    const set = FIELDS[key]
    if (!set) throw new ChainSpecError(`${source}: unknown chain spec field ${key}`)
    try {
      set(out, value, key)
    } catch (err) {
      throw new ChainSpecError(`${source}: ${(err as Error).message}`)
    }
  }
  if (out.da.inPreVerificationGas && out.da.oracle === 'none')
    throw new ChainSpecError(`${source}: da_pre_verification_gas needs a da_gas_oracle_type`)
  return out
}

export function isNetworkName(name: string): name is NetworkName {
  return (NETWORK_NAMES as string[]).includes(name)
}

export interface ChainSpecChoice {
  /** `--network`: a preset by name. */
  network?: string
  /** `--chain_spec`: a TOML or JSON file whose fields override the preset's. */
  file?: string
}

/**
 * The chain spec to run with: the `--network` preset (or a file's `base` network, or the preset of
 * the node's chain id), with the `--chain_spec` file's fields on top. The node's chain id must be the
 * spec's: a bundler pricing Base's L1 fee on another chain would sign nonsense.
 */
export function resolveChainSpec(choice: ChainSpecChoice, nodeChainId: number): ChainSpec {
  const fields = choice.file !== undefined ? readChainSpecFile(choice.file) : {}
  const baseName = choice.network ?? (typeof fields.base === 'string' ? fields.base : undefined)
  if (baseName !== undefined && !isNetworkName(baseName))
    throw new ChainSpecError(`unknown network ${baseName}: one of ${NETWORK_NAMES.join(', ')}`)
  const base = baseName !== undefined ? NETWORKS[baseName] : chainSpecFor(nodeChainId)
  const spec =
    choice.file !== undefined ? applyChainSpecFields(base, fields, `--chain_spec ${choice.file}`) : base
  if (spec.chainId !== nodeChainId) {
    const from =
      choice.file !== undefined && fields.id !== undefined
        ? `--chain_spec ${choice.file}`
        : `--network ${spec.name}`
    throw new ChainSpecError(
      `chain id mismatch: ${from} is chain ${spec.chainId} but the node reports chain id ${nodeChainId}`,
    )
  }
  return spec
}
