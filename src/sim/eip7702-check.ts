import { type Address, type Hex, isAddressEqual, type PublicClient } from 'viem'
import { recoverAuthorizationAddress } from 'viem/utils'
import { type Eip7702Auth, SECP256K1_HALF_N } from '../chain/eip7702.js'
import type { UserOperation } from '../chain/userop.js'
import { RpcCode, RpcError } from '../util/errors.js'

/**
 * Admission checks of an op's EIP-7702 authorization, before its simulation: each failure is
 * -32602 whose `data.field` names the authorization's field (`eip7702Auth.s`, …).
 */

/** What the checks read from the chain: the authority's nonces and the delegate's code. */
export interface AuthorizationState {
  /** The authority's transaction count at the block simulated at. */
  nonce: bigint
  /** Its count including transactions the node holds pending (≥ nonce). */
  pendingNonce: bigint
  delegateCode: Hex
}

export class AuthorizationError extends RpcError {
  constructor(field: keyof Eip7702Auth | 'signer', message: string) {
    const name = field === 'signer' ? 'eip7702Auth' : `eip7702Auth.${field}`
    super(RpcCode.InvalidParams, `${name}: ${message}`, { field: name })
    this.name = 'AuthorizationError'
  }
}

/** The checks that need no chain state: yParity, low s, chain id, and the signer is the sender. */
export async function checkAuthorizationSignature(op: UserOperation, chainId: number): Promise<void> {
  const a = op.eip7702Auth
  if (!a) return
  if (a.yParity !== 0 && a.yParity !== 1) throw new AuthorizationError('yParity', 'must be 0 or 1')
  const s = BigInt(a.s)
  if (s === 0n || s > SECP256K1_HALF_N)
    throw new AuthorizationError('s', 'must be in the lower half of the curve order (EIP-2)')
  if (BigInt(a.r) === 0n) throw new AuthorizationError('r', 'must not be zero')
  if (a.chainId !== 0n && a.chainId !== BigInt(chainId))
    throw new AuthorizationError('chainId', `must be 0 or this chain's id ${chainId}, got ${a.chainId}`)
  let signer: Address
  try {
    signer = await recoverAuthorizationAddress({
      authorization: { address: a.address, chainId: Number(a.chainId), nonce: Number(a.nonce) },
      signature: { r: a.r, s: a.s, yParity: a.yParity },
    })
  } catch {
    throw new AuthorizationError('signer', 'the signature does not recover to an address')
  }
  if (!isAddressEqual(signer, op.sender))
    throw new AuthorizationError('signer', `signed by ${signer}, not by the sender ${op.sender}`)
}

/** The checks against chain state: the authority's nonce and the delegate's code. */
export function checkAuthorizationState(op: UserOperation, state: AuthorizationState): void {
  const a = op.eip7702Auth
  if (!a) return
  // The next transaction of the authority may be one the node already holds: either nonce can apply.
  if (a.nonce !== state.nonce && a.nonce !== state.pendingNonce)
    throw new AuthorizationError(
      'nonce',
      `${a.nonce} is not the sender's account nonce ${state.nonce}${state.pendingNonce !== state.nonce ? ` (or ${state.pendingNonce} with its pending transactions)` : ''}`,
    )
  if (state.delegateCode === '0x' || state.delegateCode.length <= 2)
    throw new AuthorizationError('address', `delegate ${a.address} has no code`)
}

/** Reads what checkAuthorizationState needs, at the pinned block. */
export async function readAuthorizationState(
  client: PublicClient,
  op: UserOperation,
  blockNumber: bigint,
  code: (address: Address, blockNumber: bigint) => Promise<Hex>,
): Promise<AuthorizationState | undefined> {
  const a = op.eip7702Auth
  if (!a) return undefined
  const [nonce, pendingNonce, delegateCode] = await Promise.all([
    client.getTransactionCount({ address: op.sender, blockNumber }),
    client.getTransactionCount({ address: op.sender, blockTag: 'pending' }),
    code(a.address, blockNumber),
  ])
  return { nonce: BigInt(nonce), pendingNonce: BigInt(Math.max(pendingNonce, nonce)), delegateCode }
}
