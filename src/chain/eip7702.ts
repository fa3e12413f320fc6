import {
  type Address,
  concat,
  getAddress,
  type Hex,
  hexToBigInt,
  isAddressEqual,
  pad,
  size,
  slice,
} from 'viem'
import { recoverAuthorizationAddress } from 'viem/utils'
import { RpcCode, RpcError } from '../util/errors.js'
import type { UserOperation } from './userop.js'

/**
 * EIP-7702 as ERC-4337 v0.8+ uses it: an EOA sender delegates its code to an implementation by a
 * signed authorization; the op marks it with the factory `0x7702` (padded to 20 bytes) and the
 * EntryPoint hashes the delegate's address in place of that marker (Eip7702Support.sol).
 */

/** A signed EIP-7702 authorization as the op's `eip7702Auth` carries it. */
export interface Eip7702Auth {
  chainId: bigint
  /** The delegate (implementation) address. */
  address: Address
  nonce: bigint
  yParity: number
  r: Hex
  s: Hex
}

/** The initCode marker of a 7702 op: `0x7702` padded to 20 bytes. */
export const EIP7702_MARKER: Address = '0x7702000000000000000000000000000000000000'
/** The code of a delegated account: this prefix, then the delegate's 20-byte address. */
export const DELEGATION_PREFIX: Hex = '0xef0100'
/** Intrinsic gas per authorization in a type-4 transaction (EIP-7702 PER_EMPTY_ACCOUNT_COST). */
export const PER_AUTHORIZATION_GAS = 25_000n
/** secp256k1n / 2: a valid signature's s is at most this (EIP-2). */
export const SECP256K1_HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n

export function isEip7702Marker(factory: Address | undefined): boolean {
  return factory !== undefined && factory.toLowerCase() === EIP7702_MARKER
}

/** The op names the 7702 marker in place of a factory. */
export function isEip7702Op(op: Pick<UserOperation, 'factory'>): boolean {
  return isEip7702Marker(op.factory)
}

/** The factory the op deploys with, as an entity: none for a 7702 op (the marker is no contract). */
export function factoryEntity(op: Pick<UserOperation, 'factory'>): Address | undefined {
  return isEip7702Op(op) ? undefined : op.factory
}

/** The code an account has once delegated to `delegate`. */
export function delegationCode(delegate: Address): Hex {
  return concat([DELEGATION_PREFIX, delegate]).toLowerCase() as Hex
}

/** The delegate of a delegated account's code; undefined for any other code. */
export function delegateOf(code: Hex | undefined): Address | undefined {
  if (!code || size(code) !== 23 || slice(code, 0, 3).toLowerCase() !== DELEGATION_PREFIX) return undefined
  return getAddress(slice(code, 3))
}

/**
 * The delegate a 7702 op is hashed with: its authorization's address, else the delegate found on
 * chain when it was admitted (`eip7702Delegate`).
 */
export function hashDelegate(op: UserOperation): Address | undefined {
  return op.eip7702Auth?.address ?? op.eip7702Delegate
}

/** The state override that makes simulation see the authorization applied (sender delegated). */
export function delegationOverride(op: UserOperation): Record<Address, { code: Hex }> {
  if (!op.eip7702Auth) return {}
  return { [op.sender]: { code: delegationCode(op.eip7702Auth.address) } }
}

/** Authorizations carried by a set of ops, in order, one per op that has one. */
export function authorizationsOf(ops: readonly UserOperation[]): Eip7702Auth[] {
  return ops.flatMap((op) => (op.eip7702Auth ? [op.eip7702Auth] : []))
}

/** The intrinsic gas of the authorizations the ops carry in a type-4 bundle. */
export function authorizationGas(ops: readonly UserOperation[]): bigint {
  return BigInt(authorizationsOf(ops).length) * PER_AUTHORIZATION_GAS
}

/**
 * A 7702 op without an authorization is hashed with the sender's current delegate: the op with it
 * filled in, or -32602 when the sender is not delegated (the op then needs its eip7702Auth).
 */
export function withChainDelegate(op: UserOperation, senderCode: Hex): UserOperation {
  if (!isEip7702Op(op) || op.eip7702Auth) return op
  const delegate = delegateOf(senderCode)
  if (!delegate)
    throw new RpcError(
      RpcCode.InvalidParams,
      `eip7702Auth: missing: sender ${op.sender} is not EIP-7702 delegated, so an op with the 0x7702 marker needs its authorization`,
      { field: 'eip7702Auth' },
    )
  return { ...op, eip7702Delegate: delegate }
}

/** An authorization as nodes return it in a transaction (quantities as hex or numbers). */
export interface WireAuthorization {
  chainId: Hex | number
  address: Address
  nonce: Hex | number
  yParity?: Hex | number
  r: Hex
  s: Hex
}

export function fromWireAuthorization(a: WireAuthorization): Eip7702Auth {
  const big = (v: Hex | number | undefined) => (typeof v === 'number' ? BigInt(v) : v ? hexToBigInt(v) : 0n)
  return {
    chainId: big(a.chainId),
    address: getAddress(a.address),
    nonce: big(a.nonce),
    yParity: Number(big(a.yParity)),
    // Nodes may give r and s without leading zeros; the RPC speaks 32-byte words.
    r: pad(a.r, { size: 32 }),
    s: pad(a.s, { size: 32 }),
  }
}

/**
 * A 7702 op read back from a type-4 bundle's calldata lacks its authorization: the entry of the
 * transaction's list signed by the op's sender, if any.
 */
export async function authorizationOfSender(
  op: UserOperation,
  list: readonly Eip7702Auth[],
): Promise<Eip7702Auth | undefined> {
  if (!isEip7702Op(op)) return undefined
  for (const a of list) {
    const authority = await recoverAuthorizationAddress({
      authorization: { address: a.address, chainId: Number(a.chainId), nonce: Number(a.nonce) },
      signature: { r: a.r, s: a.s, yParity: a.yParity },
    }).catch(() => undefined)
    if (authority && isAddressEqual(authority, op.sender)) return a
  }
  return undefined
}
