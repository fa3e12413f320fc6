import {
  type Address,
  concat,
  encodeAbiParameters,
  encodeDeployData,
  encodeFunctionData,
  getAddress,
  type Hex,
  numberToHex,
  type PrivateKeyAccount,
  pad,
} from 'viem'
import { loadArtifact } from '../../src/chain/artifacts.js'
import { entryPointOfVersion } from '../../src/chain/entrypoint/registry.js'
import { type EntryPointVersion, entryPointAbi } from '../../src/chain/entrypoint.js'
import type { UserOperation } from '../../src/chain/userop.js'
import { currentFees, newOwner } from './account.js'
import type { TestChain } from './chain.js'

/**
 * The sample VerifyingPaymaster. Only the v0.7 package ships it; v0.8 keeps the PackedUserOperation
 * struct, the paymasterAndData layout and the IPaymaster calls, so the same code serves v0.8 once
 * its `entryPoint` immutable points there (see retargetToEntryPoint).
 */
const verifyingPaymaster = () => loadArtifact('aa-v07', 'VerifyingPaymaster')
/** v0.6 ships its own VerifyingPaymaster (the v0.6 struct, paymasterAndData without gas limits). */
const verifyingPaymasterV06 = () => loadArtifact('aa-v06', 'VerifyingPaymaster')
/** The EntryPoint version each deployed paymaster serves, for withVerifyingPaymaster. */
const paymasterVersions = new Map<string, EntryPointVersion>()

export const PAYMASTER_GAS = { verification: 100_000n, postOp: 0n } as const

/** Deploys a VerifyingPaymaster for `version`'s EntryPoint that trusts `signer`, and deposits for it. */
export async function deployVerifyingPaymaster(
  chain: TestChain,
  version: EntryPointVersion,
  signer: Address,
  deposit = 10n ** 18n,
): Promise<Address> {
  const entryPoint = chain.deployment.entryPoints[version]
  const deployer = newOwner()
  await chain.client.request({
    method: 'anvil_setBalance' as never,
    params: [deployer.address, numberToHex(deposit + 10n ** 18n)] as never,
  })
  const v06 = entryPointOfVersion(version).opShape === 'v0.6'
  const artifact = v06 ? verifyingPaymasterV06() : verifyingPaymaster()
  // The v0.7 constructor checks the v0.7 IEntryPoint interface id, which v0.8+'s EntryPoints do not
  // report: construct against v0.7, then retarget.
  const receipt = await sendAndWait(chain, deployer, {
    data: encodeDeployData({
      abi: artifact.abi,
      bytecode: artifact.bytecode,
      args: [v06 ? entryPoint : chain.deployment.entryPoints['v0.7'], signer],
    }),
    gas: 3_000_000n,
  })
  if (!receipt.contractAddress) throw new Error('VerifyingPaymaster deployment created no contract')
  const paymaster = getAddress(receipt.contractAddress)
  paymasterVersions.set(paymaster.toLowerCase(), version)
  if (!v06 && version !== 'v0.7') await retargetToEntryPoint(chain, paymaster, entryPoint)
  if (deposit > 0n) {
    await sendAndWait(chain, deployer, {
      to: entryPoint,
      value: deposit,
      data: encodeFunctionData({ abi: entryPointAbi(version), functionName: 'depositTo', args: [paymaster] }),
      gas: 200_000n,
    })
  }
  return paymaster
}

/**
 * Sets the op's paymaster fields to `paymaster` with validity window data and a signature by
 * `signer` over the paymaster's own getHash (read from the chain), as the VerifyingPaymaster checks.
 */
export async function withVerifyingPaymaster(
  chain: TestChain,
  op: UserOperation,
  paymaster: Address,
  signer: PrivateKeyAccount,
  window: { validUntil?: number; validAfter?: number } = {},
): Promise<UserOperation> {
  const validUntil = window.validUntil ?? 0
  const validAfter = window.validAfter ?? 0
  const timestamps = encodeAbiParameters([{ type: 'uint48' }, { type: 'uint48' }], [validUntil, validAfter])
  const version = paymasterVersions.get(paymaster.toLowerCase()) ?? 'v0.7'
  const ep = entryPointOfVersion(version)
  const v06 = ep.opShape === 'v0.6'
  // v0.6: paymasterAndData = paymaster ‖ abi.encode(validUntil, validAfter) ‖ signature, no gas
  // limits; v0.7+: the gas limits follow the address (getHash reads them). The data is not covered.
  const { paymasterVerificationGasLimit: _v, paymasterPostOpGasLimit: _p, ...rest } = op
  const withFields: UserOperation = {
    ...rest,
    paymaster,
    ...(v06
      ? {}
      : {
          paymasterVerificationGasLimit: op.paymasterVerificationGasLimit ?? PAYMASTER_GAS.verification,
          paymasterPostOpGasLimit: op.paymasterPostOpGasLimit ?? PAYMASTER_GAS.postOp,
        }),
    paymasterData: concat([timestamps, `0x${'00'.repeat(65)}`]),
  }
  const hash = (await chain.client.readContract({
    address: paymaster,
    abi: (v06 ? verifyingPaymasterV06() : verifyingPaymaster()).abi,
    functionName: 'getHash',
    args: [ep.toAbi(withFields), validUntil, validAfter],
  })) as Hex
  const signature = await signer.signMessage({ message: { raw: hash } })
  return { ...withFields, paymasterData: concat([timestamps, signature]) }
}

/**
 * Rewrites the `entryPoint` immutable in the deployed code (immutables live in the runtime code as
 * 32-byte words) and checks the contract now reports the new EntryPoint. Storage (the owner) stays.
 */
async function retargetToEntryPoint(
  chain: TestChain,
  paymaster: Address,
  entryPoint: Address,
): Promise<void> {
  const word = (a: Address) => pad(a.toLowerCase() as Hex, { size: 32 }).slice(2)
  const code = (await chain.client.getCode({ address: paymaster })) ?? '0x'
  const from = word(chain.deployment.entryPoints['v0.7'])
  if (!code.toLowerCase().includes(from)) throw new Error('entryPoint immutable not found in paymaster code')
  const patched = code.toLowerCase().replaceAll(from, word(entryPoint))
  await chain.client.request({ method: 'anvil_setCode' as never, params: [paymaster, patched] as never })
  const reported = await chain.client.readContract({
    address: paymaster,
    abi: verifyingPaymaster().abi,
    functionName: 'entryPoint',
  })
  if (getAddress(reported as Address) !== getAddress(entryPoint))
    throw new Error(`paymaster reports EntryPoint ${reported}, wanted ${entryPoint}`)
}

async function sendAndWait(
  chain: TestChain,
  from: PrivateKeyAccount,
  tx: { to?: Address; data: Hex; value?: bigint; gas: bigint },
) {
  const fees = await currentFees(chain)
  const nonce = await chain.client.getTransactionCount({ address: from.address, blockTag: 'pending' })
  const raw = await from.signTransaction({ type: 'eip1559', chainId: chain.chainId, nonce, ...fees, ...tx })
  const hash = await chain.client.sendRawTransaction({ serializedTransaction: raw })
  const receipt = await chain.client.waitForTransactionReceipt({ hash, pollingInterval: 50, timeout: 30_000 })
  if (receipt.status !== 'success') throw new Error(`transaction ${hash} reverted`)
  return receipt
}
