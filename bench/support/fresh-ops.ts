import { encodeFunctionData, numberToHex } from 'viem'
import { chainSpecFor } from '../../src/chain/chain-spec.js'
import { type EntryPointVersion, entryPointArtifact } from '../../src/chain/entrypoint.js'
import { requiredPreVerificationGas } from '../../src/chain/gas.js'
import { type UserOperation, userOpHash } from '../../src/chain/userop.js'
import {
  DUMMY_SIGNATURE,
  executeCallData,
  newOwner,
  SENDER_FUNDING,
  signUserOp,
  simpleAccountAddress,
} from '../../test/harness/account.js'
import type { TestChain } from '../../test/harness/chain.js'
import type { BuiltOp, OpGas } from '../../test/support/bundler-load.js'

/**
 * The first op of a brand-new SimpleAccount (factory and factoryData set, nonce 0), its counterfactual
 * address funded for the prefund: the "new accounts" phase of the end-to-end bench. Two node calls
 * (the address, the funding); gas and fees as given, preVerificationGas as the bundler requires.
 */
export async function freshAccountOp(
  chain: TestChain,
  version: EntryPointVersion,
  gas: OpGas,
  fees: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint },
  sign = true,
): Promise<BuiltOp> {
  const owner = newOwner()
  const sender = await simpleAccountAddress(chain, version, owner.address)
  await chain.client.request({
    method: 'anvil_setBalance' as never,
    params: [sender, numberToHex(SENDER_FUNDING)] as never,
  })
  let op: UserOperation = {
    sender,
    nonce: 0n,
    factory: chain.deployment.factories[version],
    factoryData: encodeFunctionData({
      abi: entryPointArtifact(version, 'SimpleAccountFactory').abi,
      functionName: 'createAccount',
      args: [owner.address, 0n],
    }),
    callData: executeCallData(version, owner.address, 0n, '0x'),
    ...gas,
    preVerificationGas: 0n,
    ...fees,
    signature: DUMMY_SIGNATURE,
  }
  op = {
    ...op,
    preVerificationGas: requiredPreVerificationGas(
      { ...op, signature: `0x${'ff'.repeat(65)}` },
      chainSpecFor(chain.chainId),
    ),
  }
  if (sign) op.signature = await signUserOp(chain, version, op, owner)
  const hash = userOpHash(op, chain.deployment.entryPoints[version], chain.chainId, version)
  return { op, hash, sender }
}
