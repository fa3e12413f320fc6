import type { Address } from 'viem'

/** Action kinds of contracts/src/RulesTest.sol (RulesActor); keep the numbers in step. */
export const Kind = {
  NONE: 0,
  ORIGIN: 1,
  GASPRICE: 2,
  BLOCKHASH: 3,
  COINBASE: 4,
  TIMESTAMP: 5,
  NUMBER: 6,
  PREVRANDAO: 7,
  GASLIMIT: 8,
  BASEFEE: 9,
  CREATE: 10,
  INVALID: 11,
  SELFDESTRUCT: 12,
  GAS_ALONE: 13,
  GAS_THEN_CALL: 14,
  OUT_OF_GAS: 15,
  SUBCALL_REVERT: 16,
  CREATE2_OTHER: 17,
  CALL_NO_CODE: 18,
  EXTCODESIZE_NO_CODE: 19,
  EXTCODEHASH_TARGET: 20,
  EP_CODESIZE_ISZERO: 21,
  EP_CODEHASH: 22,
  EP_DEPOSIT_TO: 23,
  EP_FALLBACK_VALUE: 24,
  EP_BALANCE_OF: 25,
  CALL_VALUE: 26,
  CALL_NO_VALUE: 27,
  PRECOMPILE: 28,
  BALANCE: 29,
  SELFBALANCE: 30,
  OWN_READ: 31,
  OWN_WRITE: 32,
  OWN_TLOAD: 33,
  OWN_TSTORE: 34,
  EXT_READ: 35,
  EXT_WRITE: 36,
  EXT_READ_MAP: 37,
  EXT_WRITE_MAP: 38,
  EXT_TLOAD: 39,
  EXT_TSTORE: 40,
  STATE_SWITCH: 41,
} as const

export interface Action {
  kind: number
  target?: Address
  /** A slot, a salt, or for map actions: key in the low 160 bits and offset n above. */
  arg?: bigint
}

/** The `arg` of a map action: the entry of `key`, `n` slots past its base. */
export function mapArg(key: Address, n = 0n): bigint {
  return (n << 160n) | BigInt(key)
}
