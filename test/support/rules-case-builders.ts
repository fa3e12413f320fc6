import type { Address } from 'viem'
import { RpcCode } from '../../src/util/errors.js'
import type { Action } from './rules-actions.js'
import { counterfactual, type RulesEnv, type RulesOpParams } from './rules-env.js'

/** The rule table's vocabulary: what a case expects, and one builder per acting entity. */

/** What admission must do with a case's op. */
export type Expect =
  | { ok: true }
  | { ok: false; code: number; rule: string; entity: 'account' | 'factory' | 'paymaster'; text?: string }

export interface RuleCase {
  name: string
  /** The rule the case exercises (also for allowed variants). */
  rule: string
  expect: Expect
  build(env: RulesEnv, accounts: Accounts): Promise<RulesOpParams>
}

/** Deployed accounts shared by the cases (validation does not consume the nonce). */
export interface Accounts {
  unstaked: Address
  staked: Address
}

export const ALLOWED: Expect = { ok: true }
export const banned = (
  rule: string,
  entity: 'account' | 'factory' | 'paymaster' = 'account',
  text?: string,
): Expect => ({
  ok: false,
  code: RpcCode.BannedOpcode,
  rule,
  entity,
  text,
})
export const needsStake = (
  rule: string,
  entity: 'account' | 'factory' | 'paymaster',
  text?: string,
): Expect => ({
  ok: false,
  code: RpcCode.StakeTooLow,
  rule,
  entity,
  text,
})

export const NO_CODE: Address = '0x00000000000000000000000000000000DeaDBeef'

export type ActionOf = (env: RulesEnv, sender: Address) => Action

/** The account (deployed, unstaked unless `staked`) performs the action. */
export function account(
  name: string,
  rule: string,
  expect: Expect,
  action: ActionOf,
  staked = false,
): RuleCase {
  return {
    name: `account ${name}`,
    rule,
    expect,
    build: async (env, accts) => {
      const sender = staked ? accts.staked : accts.unstaked
      return { sender, account: action(env, sender) }
    },
  }
}

type PaymasterKind = keyof RulesEnv['paymaster']
/** A plain account with a paymaster that performs the action. */
export function paymaster(
  name: string,
  rule: string,
  expect: Expect,
  action: ActionOf,
  pm: PaymasterKind = 'unstaked',
): RuleCase {
  return {
    name: `${pm} paymaster ${name}`,
    rule,
    expect,
    build: async (env, accts) => ({
      sender: accts.unstaked,
      paymaster: { address: env.paymaster[pm], action: action(env, accts.unstaked) },
    }),
  }
}

/** A counterfactual account whose factory (and optionally the account itself) performs the action. */
export function factory(
  name: string,
  rule: string,
  expect: Expect,
  action: ActionOf | undefined,
  staked: boolean,
  accountAction?: ActionOf,
): RuleCase {
  return {
    name: `${staked ? 'staked' : 'unstaked'} factory ${name}`,
    rule,
    expect,
    build: async (env) => {
      const address = staked ? env.factory.staked : env.factory.unstaked
      const { sender, salt } = await counterfactual(env, address)
      return {
        sender,
        factory: { address, salt, action: action?.(env, sender) },
        account: accountAction?.(env, sender),
      }
    },
  }
}

export const k =
  (kind: number, target?: Address, arg?: bigint): ActionOf =>
  () => ({ kind, target, arg })
