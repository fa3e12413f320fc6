import {
  type Address,
  encodeFunctionData,
  type Hash,
  type Hex,
  numberToHex,
  type PrivateKeyAccount,
} from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { chainSpecFor } from '../../src/chain/chain-spec.js'
import { entryPointOfVersion } from '../../src/chain/entrypoint/registry.js'
import { type EntryPointVersion, entryPointAbi, entryPointArtifact } from '../../src/chain/entrypoint.js'
import { requiredPreVerificationGas } from '../../src/chain/gas.js'
import { type UserOperation, userOpHash } from '../../src/chain/userop.js'
import type { TestChain } from './chain.js'

/** Gas limits that land on the real SimpleAccount with room to spare (deployment needs ~300k). */
export const DEFAULT_GAS = {
  verificationWithFactory: 600_000n,
  verification: 150_000n,
  call: 150_000n,
} as const
/** Balance given to a sender when `fund` is on: enough prefund for any default op. */
export const SENDER_FUNDING = 10n ** 19n
/**
 * A real ECDSA signature by a throwaway key over an unrelated hash: it recovers to some address that
 * owns no account, so SimpleAccount reports a signature failure (AA24) instead of reverting (AA23).
 */
export const DUMMY_SIGNATURE: Hex =
  '0x047144942c1f12a758938d3bea8cc0e9392ce6e026ac8231da9c7576c7e1141b121805f8bd599e106732e41163c54eb8e5019dd3c3e63695dc68d8948c02081a1c'

export function newOwner(): PrivateKeyAccount {
  return privateKeyToAccount(generatePrivateKey())
}

/** The counterfactual SimpleAccount address, from the version's factory. */
export async function simpleAccountAddress(
  chain: TestChain,
  version: EntryPointVersion,
  owner: Address,
  salt = 0n,
): Promise<Address> {
  return chain.client.readContract({
    address: chain.deployment.factories[version],
    abi: entryPointArtifact(version, 'SimpleAccountFactory').abi,
    functionName: 'getAddress',
    args: [owner, salt],
  }) as Promise<Address>
}

/** SimpleAccount.execute(to, value, data). */
export function executeCallData(version: EntryPointVersion, to: Address, value: bigint, data: Hex): Hex {
  return encodeFunctionData({
    abi: entryPointArtifact(version, 'SimpleAccount').abi,
    functionName: 'execute',
    args: [to, value, data],
  })
}

/** The sample SimpleAccount of v0.6 and v0.7 checks the EIP-191 message of the hash; v0.8+ the raw EIP-712 hash. */
export const SIMPLE_ACCOUNT_SIGNS_MESSAGE: Record<EntryPointVersion, boolean> = {
  'v0.6': true,
  'v0.7': true,
  'v0.8': false,
  'v0.9': false,
}

/** What the version's SimpleAccount checks (see SIMPLE_ACCOUNT_SIGNS_MESSAGE). */
export async function signUserOp(
  chain: TestChain,
  version: EntryPointVersion,
  op: UserOperation,
  owner: PrivateKeyAccount,
): Promise<Hex> {
  return signOpHash(
    version,
    userOpHash(op, chain.deployment.entryPoints[version], chain.chainId, version),
    owner,
  )
}

/** signUserOp for an op whose hash is already known. */
export function signOpHash(version: EntryPointVersion, hash: Hex, owner: PrivateKeyAccount): Promise<Hex> {
  return SIMPLE_ACCOUNT_SIGNS_MESSAGE[version]
    ? owner.signMessage({ message: { raw: hash } })
    : owner.sign({ hash })
}

export interface BuildOpParams {
  owner: PrivateKeyAccount
  salt?: bigint
  /** Default: the EntryPoint's next nonce for key 0. */
  nonce?: bigint
  /** Default: execute a zero-value call to the owner. */
  callData?: Hex
  /** Default true: anvil_setBalance the sender so it can pay its prefund. */
  fund?: boolean
  /** Applied before signing, so the signature covers them (a `signature` here wins over signing). */
  overrides?: Partial<UserOperation>
  /** Default true; false leaves DUMMY_SIGNATURE (or overrides.signature). */
  sign?: boolean
}

/**
 * A SimpleAccount user operation ready for handleOps: factory fields while the sender has no code,
 * gas limits that land, and fees from the chain's current base fee and priority fee.
 */
export async function buildOp(
  chain: TestChain,
  version: EntryPointVersion,
  params: BuildOpParams,
): Promise<{ op: UserOperation; hash: Hash; sender: Address }> {
  const { owner, salt = 0n } = params
  const entryPoint = chain.deployment.entryPoints[version]
  const sender = await simpleAccountAddress(chain, version, owner.address, salt)
  const code = await chain.client.getCode({ address: sender })
  const deployed = code !== undefined && code !== '0x'

  const nonce =
    params.nonce ??
    ((await chain.client.readContract({
      address: entryPoint,
      abi: entryPointAbi(version),
      functionName: 'getNonce',
      args: [sender, 0n],
    })) as bigint)
  const fees = await currentFees(chain)

  let op: UserOperation = {
    sender,
    nonce,
    callData: params.callData ?? executeCallData(version, owner.address, 0n, '0x'),
    callGasLimit: DEFAULT_GAS.call,
    verificationGasLimit: deployed ? DEFAULT_GAS.verification : DEFAULT_GAS.verificationWithFactory,
    preVerificationGas: 0n,
    maxFeePerGas: fees.maxFeePerGas,
    maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    signature: DUMMY_SIGNATURE,
  }
  if (!deployed) {
    op.factory = chain.deployment.factories[version]
    op.factoryData = encodeFunctionData({
      abi: entryPointArtifact(version, 'SimpleAccountFactory').abi,
      functionName: 'createAccount',
      args: [owner.address, salt],
    })
  }
  op = { ...op, ...params.overrides }
  // v0.6 ops have no paymaster gas limits (verificationGasLimit covers the paymaster).
  if (entryPointOfVersion(version).opShape === 'v0.6') {
    delete op.paymasterVerificationGasLimit
    delete op.paymasterPostOpGasLimit
  }
  // Priced after the overrides (fee and gas fields change the op's calldata), with an all-non-zero
  // 65-byte signature: enough for whatever ECDSA signature comes.
  if (params.overrides?.preVerificationGas === undefined) {
    op.preVerificationGas = requiredPreVerificationGas(
      { ...op, signature: `0x${'ff'.repeat(65)}` },
      chainSpecFor(chain.chainId),
      entryPointOfVersion(version).encodedOpForCalldata,
      entryPointOfVersion(version).gas.preVerificationOverhead,
    )
  }

  if (params.fund ?? true) {
    await chain.client.request({
      method: 'anvil_setBalance' as never,
      params: [sender, numberToHex(SENDER_FUNDING)] as never,
    })
  }
  if ((params.sign ?? true) && params.overrides?.signature === undefined) {
    op.signature = await signUserOp(chain, version, op, params.owner)
  }
  return { op, hash: userOpHash(op, entryPoint, chain.chainId, version), sender }
}

/** Fees an op (or bundle) can pay for the next few blocks: twice the base fee plus the node's tip. */
export async function currentFees(
  chain: TestChain,
): Promise<{ maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }> {
  const block = await chain.client.getBlock({ blockTag: 'latest' })
  const maxPriorityFeePerGas = await chain.client.estimateMaxPriorityFeePerGas()
  const baseFee = block.baseFeePerGas ?? 0n
  return { maxFeePerGas: baseFee * 2n + maxPriorityFeePerGas, maxPriorityFeePerGas }
}
