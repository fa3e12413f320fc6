import { setLengthLeft } from '@ethereumjs/util'
import { recover } from 'tiny-secp256k1'

/**
 * The ecrecover precompile's key recovery for the replay, on libsecp256k1 (tiny-secp256k1, its
 * WebAssembly build kept by bitcoinjs) rather than the EVM's pure-JS default: an account's
 * signature check is one recovery per op, and it was a tenth of safe mode's CPU at ~2.2 ms; this
 * takes ~0.33 ms. Same contract as @ethereumjs/util's `ecrecover`: the 64-byte public key, or a
 * throw for a signature that recovers nothing (the precompile then returns no data). The
 * precompile only passes v = 27 or 28. Whatever the replay computes is still checked against the
 * node's own eth_call of the same call.
 */
export function fastEcrecover(msgHash: Uint8Array, v: bigint, r: Uint8Array, s: Uint8Array): Uint8Array {
  const recoveryId = Number(v - 27n)
  if (recoveryId !== 0 && recoveryId !== 1) throw new Error('invalid signature v value')
  const signature = new Uint8Array(64)
  signature.set(setLengthLeft(r, 32), 0)
  signature.set(setLengthLeft(s, 32), 32)
  const key = recover(msgHash, signature, recoveryId, false)
  if (!key) throw new Error('no public key recovered')
  return key.subarray(1)
}
