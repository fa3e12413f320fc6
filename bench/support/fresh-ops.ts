import { encodeFunctionData, type Hash, numberToHex } from 'viem'
import { type EntryPointVersion, entryPointAbi, entryPointArtifact } from '../../src/chain/entrypoint.js'
import type { UserOperation } from '../../src/chain/userop.js'
import {
  DUMMY_SIGNATURE,
  executeCallData,
  SENDER_FUNDING,
  simpleAccountAddress,
} from '../../test/harness/account.js'
import type { TestChain } from '../../test/harness/chain.js'
import { type BuiltOp, finishLoadOp, type OpGas } from '../../test/support/bundler-load.js'
import { fastOwner } from '../../test/support/fast-owner.js'

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
  const owner = fastOwner()
  const sender = await simpleAccountAddress(chain, version, owner.address)
  await chain.client.request({
    method: 'anvil_setBalance' as never,
    params: [sender, numberToHex(SENDER_FUNDING)] as never,
  })
  const op: UserOperation = {
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
  return finishLoadOp(chain, version, op, owner, sign)
}

/**
 * Stakes the SimpleAccountFactory (1 ETH, one day) as real factories are: an unstaked factory may
 * have only a few ops in the mempool at once (ERC-7562), which would throttle the "new accounts"
 * phase for every mode alike. The factory has no stake method, so anvil sends as the factory.
 */
export async function stakeFactory(chain: TestChain, version: EntryPointVersion): Promise<void> {
  const factory = chain.deployment.factories[version]
  const rpc = (method: string, params: unknown[]) =>
    chain.client.request({ method: method as never, params: params as never })
  await rpc('anvil_setBalance', [factory, numberToHex(10n ** 19n)])
  await rpc('anvil_impersonateAccount', [factory])
  try {
    const hash = (await rpc('eth_sendTransaction', [
      {
        from: factory,
        to: chain.deployment.entryPoints[version],
        value: numberToHex(10n ** 18n),
        data: encodeFunctionData({
          abi: entryPointAbi(version),
          functionName: 'addStake',
          args: [86_400],
        }),
      },
    ])) as Hash
    const receipt = await chain.client.waitForTransactionReceipt({
      hash,
      pollingInterval: 100,
      timeout: 30_000,
    })
    if (receipt.status !== 'success') throw new Error('staking the factory reverted')
  } finally {
    await rpc('anvil_stopImpersonatingAccount', [factory])
  }
}
