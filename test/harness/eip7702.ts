import {
  type Address,
  encodeFunctionData,
  type Hash,
  type Hex,
  numberToHex,
  type PrivateKeyAccount,
} from 'viem'
import { chainSpecFor } from '../../src/chain/chain-spec.js'
import { EIP7702_MARKER, type Eip7702Auth } from '../../src/chain/eip7702.js'
import { entryPointOfVersion } from '../../src/chain/entrypoint/registry.js'
import { type EntryPointVersion, entryPointAbi, entryPointArtifact } from '../../src/chain/entrypoint.js'
import { requiredPreVerificationGas } from '../../src/chain/gas.js'
import type { UserOperation } from '../../src/chain/userop.js'
import { encodeEip7702Auth } from '../../src/rpc/eip7702-auth.js'
import { encodeOpFor } from '../../src/rpc/eth.js'
import { currentFees, SENDER_FUNDING } from './account.js'
import type { TestChain } from './chain.js'

/** The Simple7702Account implementation `conveyor dev` (deployCanonical) places for the version. */
export function implementation(chain: TestChain, version: EntryPointVersion): Address {
  const a = chain.deployment.delegates[version]
  if (!a) throw new Error(`no Simple7702Account for ${version}`)
  return a
}

/** The EOA's signed authorization delegating it to `address` (default: at its current nonce, this chain). */
export async function signAuth(
  chain: TestChain,
  owner: PrivateKeyAccount,
  address: Address,
  over: { chainId?: number; nonce?: number } = {},
): Promise<Eip7702Auth> {
  const nonce = over.nonce ?? (await chain.client.getTransactionCount({ address: owner.address }))
  const a = await owner.signAuthorization({ address, chainId: over.chainId ?? chain.chainId, nonce })
  return {
    address: a.address,
    chainId: BigInt(a.chainId),
    nonce: BigInt(a.nonce),
    yParity: a.yParity ?? 0,
    r: a.r,
    s: a.s,
  }
}

export interface Build7702Params {
  owner: PrivateKeyAccount
  /** The authorization to carry; none: the sender must be delegated already. */
  auth?: Eip7702Auth
  /** Keep the 0x7702 marker without an authorization (a delegated sender may still name it). */
  marker?: boolean
  callData?: Hex
  nonce?: bigint
  /** Default true: fund the EOA so it pays its own prefund. */
  fund?: boolean
  /** Default: from the chain's current base fee and tip. */
  fees?: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }
}

/** Simple7702Account.execute(to, value, data). */
export function execute7702(version: EntryPointVersion, to: Address, value: bigint, data: Hex = '0x'): Hex {
  return encodeFunctionData({
    abi: entryPointArtifact(version, 'Simple7702Account').abi,
    functionName: 'execute',
    args: [to, value, data],
  })
}

/**
 * An op of an EOA sender on Simple7702Account: the 0x7702 marker and its authorization the first
 * time, signed over the userOpHash as the EntryPoint computes it (the hash covers the delegate).
 */
export async function build7702Op(
  chain: TestChain,
  version: EntryPointVersion,
  p: Build7702Params,
): Promise<{ op: UserOperation; hash: Hash }> {
  const ep = entryPointOfVersion(version)
  const entryPoint = chain.deployment.entryPoints[version]
  const sender = p.owner.address
  const nonce =
    p.nonce ??
    ((await chain.client.readContract({
      address: entryPoint,
      abi: entryPointAbi(version),
      functionName: 'getNonce',
      args: [sender, 0n],
    })) as bigint)
  const fees = p.fees ?? (await currentFees(chain))
  const op: UserOperation = {
    sender,
    nonce,
    callData: p.callData ?? execute7702(version, sender, 0n),
    callGasLimit: 100_000n,
    verificationGasLimit: 150_000n,
    preVerificationGas: 0n,
    ...fees,
    signature: `0x${'ff'.repeat(65)}`,
  }
  if (p.auth || p.marker) {
    op.factory = EIP7702_MARKER
    op.factoryData = '0x'
  }
  if (p.auth) op.eip7702Auth = p.auth
  if (p.marker && !p.auth) op.eip7702Delegate = implementation(chain, version)
  op.preVerificationGas = requiredPreVerificationGas(
    op,
    chainSpecFor(chain.chainId),
    ep.encodedOpForCalldata,
    ep.gas.preVerificationOverhead,
  )
  if (p.fund ?? true)
    await chain.client.request({
      method: 'anvil_setBalance' as never,
      params: [sender, numberToHex(SENDER_FUNDING)] as never,
    })
  const hash = ep.hash(op, chain.chainId)
  op.signature = await p.owner.sign({ hash })
  return { op, hash }
}

/** The op in its EntryPoint's wire shape, with the authorization (never the internal delegate). */
export function wire7702(chain: TestChain, version: EntryPointVersion, op: UserOperation) {
  const { eip7702Delegate: _, ...rest } = op
  const out = encodeOpFor(chain.deployment.entryPoints[version], rest) as Record<string, unknown>
  if (op.eip7702Auth) out.eip7702Auth = encodeEip7702Auth(op.eip7702Auth)
  return out
}
