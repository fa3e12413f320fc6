/** What the rule checker needs beyond the trace and the op. */
export interface RuleSettings {
  /** `--min_stake_value` (wei), quoted in stake messages; `isStaked` in the result already applies it. */
  minStakeValue: bigint
  /** `--min_unstake_delay` (seconds), likewise. */
  minUnstakeDelaySec: bigint
  /**
   * Precompiles validation may call (OP-062): the core 0x01..0x09 by default; add 0x100 on
   * networks with the RIP-7212 secp256r1 precompile.
   */
  allowedPrecompiles: readonly bigint[]
}

export const CORE_PRECOMPILES: readonly bigint[] = [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n]
/** The RIP-7212 secp256r1 verifier. */
export const RIP7212_PRECOMPILE = 0x100n

export function defaultRuleSettings(over: Partial<RuleSettings> = {}): RuleSettings {
  return {
    minStakeValue: 10n ** 18n,
    minUnstakeDelaySec: 86_400n,
    allowedPrecompiles: CORE_PRECOMPILES,
    ...over,
  }
}

/** Addresses where some chain may place a precompile (Prague's 0x01..0x11 and RIP-7212's 0x100). */
export function isPrecompileAddress(address: string): boolean {
  const n = BigInt(address)
  return (n >= 1n && n <= 0x11n) || n === RIP7212_PRECOMPILE
}
