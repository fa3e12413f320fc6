import {
  getTransactionType,
  type Hex,
  keccak256,
  type Signature,
  serializeTransaction,
  type TransactionSerializable,
} from 'viem'
import { UnsupportedTransactionError } from './errors.js'

export interface TxPolicy {
  /** Expected chain id: a request for another chain is refused (replay safety). */
  chainId?: number
  eip7702: boolean
}

/** Bundles go out as EIP-1559, or EIP-7702 on chains that support it; nothing else is signed. */
export function assertSignable(tx: TransactionSerializable, policy: TxPolicy): void {
  let type: string
  try {
    type = getTransactionType(tx)
  } catch {
    throw new UnsupportedTransactionError('cannot infer the transaction type of the request')
  }
  if (type !== 'eip1559' && type !== 'eip7702') {
    throw new UnsupportedTransactionError(`transaction type ${type} is not signed; use eip1559`)
  }
  if (type === 'eip7702' && !policy.eip7702) {
    throw new UnsupportedTransactionError('eip7702 transactions are not enabled for this chain')
  }
  if (tx.chainId === undefined) throw new UnsupportedTransactionError('transaction request has no chainId')
  if (policy.chainId !== undefined && tx.chainId !== policy.chainId) {
    throw new UnsupportedTransactionError(
      `transaction is for chain ${tx.chainId}, signer serves chain ${policy.chainId}`,
    )
  }
}

/** The hash the sender's key signs: keccak256 of the unsigned typed envelope. */
export function signingHash(tx: TransactionSerializable): Hex {
  return keccak256(serializeTransaction(tx))
}

export function serializeSigned(tx: TransactionSerializable, sig: Signature): Hex {
  return serializeTransaction(tx, sig)
}
