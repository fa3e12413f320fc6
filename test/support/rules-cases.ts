import { Kind, mapArg } from './rules-actions.js'
import {
  ALLOWED,
  account,
  banned,
  factory,
  k,
  NO_CODE,
  needsStake,
  paymaster,
  type RuleCase,
} from './rules-case-builders.js'

export type { Accounts, Expect, RuleCase } from './rules-case-builders.js'

const ENV_OPCODES: [string, number][] = [
  ['ORIGIN', Kind.ORIGIN],
  ['GASPRICE', Kind.GASPRICE],
  ['BLOCKHASH', Kind.BLOCKHASH],
  ['COINBASE', Kind.COINBASE],
  ['TIMESTAMP', Kind.TIMESTAMP],
  ['NUMBER', Kind.NUMBER],
  ['PREVRANDAO', Kind.PREVRANDAO],
  ['GASLIMIT', Kind.GASLIMIT],
  ['BASEFEE', Kind.BASEFEE],
  ['CREATE', Kind.CREATE],
  ['INVALID', Kind.INVALID],
  ['SELFDESTRUCT', Kind.SELFDESTRUCT],
]

/** The rule table: every case runs through admission (Simulator + tracer + rules) on anvil. */
export const RULE_CASES: RuleCase[] = [
  // Baselines: each entity with no action is admitted.
  account('does nothing', 'baseline', ALLOWED, k(Kind.NONE)),
  paymaster('does nothing', 'baseline', ALLOWED, k(Kind.NONE)),
  factory('deploys the sender', 'OP-031', ALLOWED, k(Kind.NONE), false),

  // OP-011 banned opcodes, in each phase.
  ...ENV_OPCODES.map(([op, kind]) =>
    account(`uses ${op}`, 'OP-011', banned('OP-011', 'account', op), k(kind)),
  ),
  paymaster(
    'uses TIMESTAMP',
    'OP-011',
    banned('OP-011', 'paymaster', 'TIMESTAMP'),
    k(Kind.TIMESTAMP),
    'staked',
  ),
  factory('uses NUMBER', 'OP-011', banned('OP-011', 'factory', 'NUMBER'), k(Kind.NUMBER), true),

  // OP-012 GAS only right before a *CALL.
  account('uses GAS alone', 'OP-012', banned('OP-012', 'account', 'GAS'), k(Kind.GAS_ALONE)),
  account('uses GAS right before CALL', 'OP-012', ALLOWED, (env) => ({
    kind: Kind.GAS_THEN_CALL,
    target: env.store,
  })),
  paymaster('uses GAS alone', 'OP-012', banned('OP-012', 'paymaster', 'GAS'), k(Kind.GAS_ALONE)),

  // OP-020 out of gas.
  account(
    'runs a subcall out of gas',
    'OP-020',
    banned('OP-020', 'account', 'out of gas'),
    k(Kind.OUT_OF_GAS),
  ),
  account('has a subcall revert', 'OP-020', ALLOWED, k(Kind.SUBCALL_REVERT)),
  paymaster(
    'runs a subcall out of gas',
    'OP-020',
    banned('OP-020', 'paymaster', 'out of gas'),
    k(Kind.OUT_OF_GAS),
  ),
  factory(
    'runs a subcall out of gas',
    'OP-020',
    banned('OP-020', 'factory', 'out of gas'),
    k(Kind.OUT_OF_GAS),
    true,
  ),
  factory('has a subcall revert', 'OP-020', ALLOWED, k(Kind.SUBCALL_REVERT), false),

  // OP-031/032 CREATE2.
  account(
    'uses CREATE2',
    'OP-031',
    banned('OP-031', 'account', 'CREATE2'),
    k(Kind.CREATE2_OTHER, undefined, 7n),
  ),
  factory(
    'uses CREATE2 twice',
    'OP-031',
    banned('OP-031', 'factory', 'more than once'),
    k(Kind.CREATE2_OTHER, undefined, 7n),
    true,
  ),
  paymaster(
    'uses CREATE2',
    'OP-031',
    banned('OP-031', 'paymaster'),
    k(Kind.CREATE2_OTHER, undefined, 8n),
    'staked',
  ),

  // OP-041/042 addresses without code.
  account(
    'calls an address without code',
    'OP-041',
    banned('OP-041', 'account', 'no code'),
    k(Kind.CALL_NO_CODE, NO_CODE),
  ),
  account('calls a contract', 'OP-041', ALLOWED, (env) => ({ kind: Kind.CALL_NO_VALUE, target: env.store })),
  account(
    'EXTCODESIZE on an address without code',
    'OP-041',
    banned('OP-041', 'account', 'EXTCODESIZE'),
    k(Kind.EXTCODESIZE_NO_CODE, NO_CODE),
  ),
  account('EXTCODESIZE on a contract', 'OP-041', ALLOWED, (env) => ({
    kind: Kind.EXTCODESIZE_NO_CODE,
    target: env.store,
  })),
  paymaster(
    'EXTCODEHASH on an address without code',
    'OP-041',
    banned('OP-041', 'paymaster', 'EXTCODEHASH'),
    k(Kind.EXTCODEHASH_TARGET, NO_CODE),
  ),
  paymaster('EXTCODEHASH on the sender', 'OP-042', ALLOWED, (_env, sender) => ({
    kind: Kind.EXTCODEHASH_TARGET,
    target: sender,
  })),
  factory(
    'EXTCODEHASH on the deployed sender',
    'OP-041',
    ALLOWED,
    (_env, sender) => ({ kind: Kind.EXTCODEHASH_TARGET, target: sender }),
    false,
  ),

  // OP-051..054 the EntryPoint.
  account('EXTCODESIZE ISZERO on the EntryPoint', 'OP-051', ALLOWED, k(Kind.EP_CODESIZE_ISZERO)),
  paymaster('EXTCODESIZE ISZERO on the EntryPoint', 'OP-051', ALLOWED, k(Kind.EP_CODESIZE_ISZERO)),
  account(
    'EXTCODEHASH on the EntryPoint',
    'OP-054',
    banned('OP-054', 'account', 'EXTCODEHASH'),
    k(Kind.EP_CODEHASH),
  ),
  account('calls EntryPoint.depositTo with value', 'OP-052', ALLOWED, k(Kind.EP_DEPOSIT_TO)),
  factory('calls EntryPoint.depositTo with value', 'OP-052', ALLOWED, k(Kind.EP_DEPOSIT_TO), false),
  paymaster(
    'calls EntryPoint.depositTo',
    'OP-052',
    banned('OP-052', 'paymaster', 'depositTo'),
    k(Kind.EP_DEPOSIT_TO),
    'staked',
  ),
  account("calls the EntryPoint's fallback with value", 'OP-053', ALLOWED, k(Kind.EP_FALLBACK_VALUE)),
  paymaster(
    "calls the EntryPoint's fallback with value",
    'OP-053',
    banned('OP-053', 'paymaster', 'fallback'),
    k(Kind.EP_FALLBACK_VALUE),
    'staked',
  ),
  account(
    'calls EntryPoint.balanceOf',
    'OP-054',
    banned('OP-054', 'account', 'method'),
    k(Kind.EP_BALANCE_OF),
  ),
  paymaster(
    'calls EntryPoint.balanceOf',
    'OP-054',
    banned('OP-054', 'paymaster', 'method'),
    k(Kind.EP_BALANCE_OF),
    'staked',
  ),

  // OP-061 value calls.
  account('calls a contract with value', 'OP-061', banned('OP-061', 'account', 'value'), (env) => ({
    kind: Kind.CALL_VALUE,
    target: env.store,
  })),
  paymaster(
    'calls a contract with value',
    'OP-061',
    banned('OP-061', 'paymaster', 'value'),
    (env) => ({ kind: Kind.CALL_VALUE, target: env.store }),
    'staked',
  ),
  paymaster('calls a contract without value', 'OP-061', ALLOWED, (env) => ({
    kind: Kind.CALL_NO_VALUE,
    target: env.store,
  })),

  // OP-062 precompiles.
  account(
    'calls precompile 0x02 (sha256)',
    'OP-062',
    ALLOWED,
    k(Kind.PRECOMPILE, '0x0000000000000000000000000000000000000002'),
  ),
  account(
    'calls precompile 0x0a (point evaluation)',
    'OP-062',
    banned('OP-062', 'account', '0x000000000000000000000000000000000000000a'),
    k(Kind.PRECOMPILE, '0x000000000000000000000000000000000000000A'),
  ),
  paymaster(
    'calls precompile 0x01 (ecrecover)',
    'OP-062',
    ALLOWED,
    k(Kind.PRECOMPILE, '0x0000000000000000000000000000000000000001'),
  ),

  // OP-070 transient storage, treated like storage.
  account('TSTORE in its own transient storage', 'OP-070', ALLOWED, k(Kind.OWN_TSTORE, undefined, 5n)),
  paymaster(
    'TSTORE in its own transient storage',
    'OP-070',
    needsStake('OP-070', 'paymaster', 'TSTORE'),
    k(Kind.OWN_TSTORE, undefined, 5n),
  ),
  paymaster(
    'TSTORE in its own transient storage',
    'OP-070',
    ALLOWED,
    k(Kind.OWN_TSTORE, undefined, 5n),
    'staked',
  ),
  paymaster(
    'TLOAD in a non-entity contract',
    'OP-070',
    ALLOWED,
    (env) => ({ kind: Kind.EXT_TLOAD, target: env.store, arg: 9n }),
    'staked',
  ),
  paymaster(
    'TLOAD in a non-entity contract',
    'OP-070',
    needsStake('OP-070', 'paymaster', 'TLOAD'),
    (env) => ({ kind: Kind.EXT_TLOAD, target: env.store, arg: 9n }),
  ),
  paymaster(
    'TSTORE in a non-entity contract',
    'OP-070',
    banned('OP-070', 'paymaster', 'TSTORE'),
    (env) => ({ kind: Kind.EXT_TSTORE, target: env.store, arg: 9n }),
    'staked',
  ),

  // OP-080 BALANCE / SELFBALANCE only for staked entities.
  account('uses BALANCE', 'OP-080', banned('OP-080', 'account', 'BALANCE'), (env) => ({
    kind: Kind.BALANCE,
    target: env.store,
  })),
  account('uses BALANCE', 'OP-080', ALLOWED, (env) => ({ kind: Kind.BALANCE, target: env.store }), true),
  paymaster('uses SELFBALANCE', 'OP-080', banned('OP-080', 'paymaster', 'SELFBALANCE'), k(Kind.SELFBALANCE)),
  paymaster('uses SELFBALANCE', 'OP-080', ALLOWED, k(Kind.SELFBALANCE), 'staked'),

  // STO-010 the account's own storage.
  account('reads its own storage', 'STO-010', ALLOWED, k(Kind.OWN_READ, undefined, 3n)),
  account('writes its own storage', 'STO-010', ALLOWED, k(Kind.OWN_WRITE, undefined, 3n)),

  // STO-021/022 storage associated with the sender.
  account('reads its entry of a mapping', 'STO-021', ALLOWED, (env, s) => ({
    kind: Kind.EXT_READ_MAP,
    target: env.store,
    arg: mapArg(s),
  })),
  account('writes 128 slots past its entry', 'STO-021', ALLOWED, (env, s) => ({
    kind: Kind.EXT_WRITE_MAP,
    target: env.store,
    arg: mapArg(s, 128n),
  })),
  account('writes 129 slots past its entry', 'STO-021', banned('STO-033', 'account', 'SSTORE'), (env, s) => ({
    kind: Kind.EXT_WRITE_MAP,
    target: env.store,
    arg: mapArg(s, 129n),
  })),
  paymaster("reads the sender's entry of a mapping", 'STO-021', ALLOWED, (env, s) => ({
    kind: Kind.EXT_READ_MAP,
    target: env.store,
    arg: mapArg(s),
  })),
  factory(
    'then account reads its entry of a mapping',
    'STO-022',
    needsStake('STO-022', 'factory', 'factory not staked'),
    undefined,
    false,
    (env, s) => ({ kind: Kind.EXT_READ_MAP, target: env.store, arg: mapArg(s) }),
  ),
  factory('then account reads its entry of a mapping', 'STO-022', ALLOWED, undefined, true, (env, s) => ({
    kind: Kind.EXT_READ_MAP,
    target: env.store,
    arg: mapArg(s),
  })),
  factory(
    "writes the sender's entry of a mapping",
    'STO-022',
    needsStake('STO-022', 'factory'),
    (env, s) => ({ kind: Kind.EXT_WRITE_MAP, target: env.store, arg: mapArg(s, 2n) }),
    false,
  ),
  factory(
    "writes the sender's entry of a mapping",
    'STO-022',
    ALLOWED,
    (env, s) => ({ kind: Kind.EXT_WRITE_MAP, target: env.store, arg: mapArg(s, 2n) }),
    true,
  ),

  // STO-031..033 staked entities.
  paymaster(
    'reads its own storage',
    'STO-031',
    needsStake('STO-031', 'paymaster', 'SLOAD'),
    k(Kind.OWN_READ, undefined, 4n),
  ),
  paymaster('reads its own storage', 'STO-031', ALLOWED, k(Kind.OWN_READ, undefined, 4n), 'staked'),
  factory(
    'writes its own storage',
    'STO-031',
    needsStake('STO-031', 'factory', 'SSTORE'),
    k(Kind.OWN_WRITE, undefined, 4n),
    false,
  ),
  factory('writes its own storage', 'STO-031', ALLOWED, k(Kind.OWN_WRITE, undefined, 4n), true),
  paymaster(
    'writes its entry of a mapping',
    'STO-032',
    needsStake('STO-032', 'paymaster', 'SSTORE'),
    (env) => ({ kind: Kind.EXT_WRITE_MAP, target: env.store, arg: mapArg(env.paymaster.unstaked, 1n) }),
  ),
  paymaster(
    'writes its entry of a mapping',
    'STO-032',
    ALLOWED,
    (env) => ({ kind: Kind.EXT_WRITE_MAP, target: env.store, arg: mapArg(env.paymaster.staked, 1n) }),
    'staked',
  ),
  paymaster('reads an unassociated slot', 'STO-033', needsStake('STO-033', 'paymaster', 'SLOAD'), (env) => ({
    kind: Kind.EXT_READ,
    target: env.store,
    arg: 77n,
  })),
  paymaster(
    'reads an unassociated slot',
    'STO-033',
    ALLOWED,
    (env) => ({ kind: Kind.EXT_READ, target: env.store, arg: 77n }),
    'staked',
  ),
  paymaster(
    'writes an unassociated slot',
    'STO-033',
    banned('STO-033', 'paymaster', 'SSTORE'),
    (env) => ({ kind: Kind.EXT_WRITE, target: env.store, arg: 77n }),
    'staked',
  ),
  account('reads an unassociated slot', 'STO-033', needsStake('STO-033', 'account', 'SLOAD'), (env) => ({
    kind: Kind.EXT_READ,
    target: env.store,
    arg: 78n,
  })),
  account(
    'reads an unassociated slot',
    'STO-033',
    ALLOWED,
    (env) => ({ kind: Kind.EXT_READ, target: env.store, arg: 78n }),
    true,
  ),

  // SREP-010 staked = enough stake and a long enough unstake delay.
  paymaster(
    'reads its own storage with stake below the minimum',
    'SREP-010',
    needsStake('STO-031', 'paymaster', 'stake 999999999999999999 < 1000000000000000000 wei'),
    k(Kind.OWN_READ, undefined, 4n),
    'lowStake',
  ),
  paymaster(
    'reads its own storage with a short unstake delay',
    'SREP-010',
    needsStake('STO-031', 'paymaster', 'unstake delay 86399 s < 86400 s'),
    k(Kind.OWN_READ, undefined, 4n),
    'shortDelay',
  ),
]
