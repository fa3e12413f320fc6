import {
  type Address,
  encodeAbiParameters,
  encodeDeployData,
  encodeFunctionData,
  getAddress,
  type Hex,
  numberToHex,
  type PrivateKeyAccount,
  pad,
  toHex,
} from 'viem'
import { type EntryPointVersion, entryPointAbi } from '../../src/chain/entrypoint.js'
import type { UserOperation } from '../../src/chain/userop.js'
import { currentFees, newOwner } from '../harness/account.js'
import type { TestChain } from '../harness/chain.js'
import { testArtifact } from './contracts.js'
import type { Action } from './rules-actions.js'

/** Stake that counts as staked in the rule tests (settings use the same minimums). */
export const MIN_STAKE = 10n ** 18n
export const MIN_UNSTAKE_DELAY = 86_400

/** The Rules* test contracts of one EntryPoint version, deployed on a test chain. */
export interface RulesEnv {
  chain: TestChain
  version: EntryPointVersion
  entryPoint: Address
  /** A non-entity contract with plain slots and an address-keyed mapping at slot 0. */
  store: Address
  factory: { unstaked: Address; staked: Address }
  paymaster: { unstaked: Address; staked: Address; lowStake: Address; shortDelay: Address }
  /** A deployed RulesAccount, staked / unstaked, fresh for each call of `deployedAccount`. */
  deployer: PrivateKeyAccount
}

const ETH = 10n ** 18n

export async function deployRulesEnv(chain: TestChain, version: EntryPointVersion): Promise<RulesEnv> {
  const entryPoint = chain.deployment.entryPoints[version]
  const deployer = newOwner()
  await setBalance(chain, deployer.address, 1000n * ETH)
  const env = { chain, version, entryPoint, deployer } as RulesEnv
  env.store = await deploy(env, 'RulesStorage', [])
  env.factory = {
    unstaked: await deploy(env, 'RulesFactory', [entryPoint]),
    staked: await deploy(env, 'RulesFactory', [entryPoint]),
  }
  await stake(env, env.factory.staked, MIN_STAKE, MIN_UNSTAKE_DELAY)
  env.paymaster = {
    unstaked: await deploy(env, 'RulesPaymaster', [entryPoint]),
    staked: await deploy(env, 'RulesPaymaster', [entryPoint]),
    lowStake: await deploy(env, 'RulesPaymaster', [entryPoint]),
    shortDelay: await deploy(env, 'RulesPaymaster', [entryPoint]),
  }
  await stake(env, env.paymaster.staked, MIN_STAKE, MIN_UNSTAKE_DELAY)
  await stake(env, env.paymaster.lowStake, MIN_STAKE - 1n, MIN_UNSTAKE_DELAY)
  await stake(env, env.paymaster.shortDelay, MIN_STAKE, MIN_UNSTAKE_DELAY - 1)
  for (const pm of Object.values(env.paymaster)) {
    await send(env, { to: entryPoint, value: ETH, data: epCall(version, 'depositTo', [pm]) })
    // Entities need a little ether for depositTo / value-call actions.
    await setBalance(chain, pm, ETH)
  }
  for (const f of Object.values(env.factory)) await setBalance(chain, f, ETH)
  return env
}

/** A RulesAccount deployed directly (no factory in its ops), optionally staked. */
export async function deployedAccount(env: RulesEnv, staked = false): Promise<Address> {
  const account = await deploy(env, 'RulesAccount', [env.entryPoint])
  await setBalance(env.chain, account, 10n * ETH)
  if (staked) await stake(env, account, MIN_STAKE, MIN_UNSTAKE_DELAY)
  return account
}

let saltCounter = 0n
/** A fresh counterfactual account address of `factory` and the salt that yields it. */
export async function counterfactual(
  env: RulesEnv,
  factory: Address,
): Promise<{ sender: Address; salt: Hex }> {
  saltCounter++
  const salt = pad(toHex(BigInt(Date.now()) * 1000n + saltCounter), { size: 32 })
  const sender = (await env.chain.client.readContract({
    address: factory,
    abi: testArtifact('RulesFactory').abi,
    functionName: 'getAddress',
    args: [salt],
  })) as Address
  await setBalance(env.chain, sender, 10n * ETH)
  return { sender: getAddress(sender), salt }
}

export function encodeAction(a: Action | undefined): Hex {
  if (!a) return '0x'
  return encodeAbiParameters(
    [{ type: 'uint256' }, { type: 'address' }, { type: 'uint256' }],
    [BigInt(a.kind), a.target ?? '0x0000000000000000000000000000000000000000', a.arg ?? 0n],
  )
}

export interface RulesOpParams {
  sender: Address
  /** For a counterfactual sender: the factory, its salt and the factory's action. */
  factory?: { address: Address; salt: Hex; action?: Action }
  account?: Action
  paymaster?: { address: Address; action?: Action }
}

/** An op for the Rules* entities: the actions ride in signature, factoryData and paymasterData. */
export async function rulesOp(env: RulesEnv, p: RulesOpParams): Promise<UserOperation> {
  const fees = await currentFees(env.chain)
  const nonce = p.factory
    ? 0n
    : ((await env.chain.client.readContract({
        address: env.entryPoint,
        abi: entryPointAbi(env.version),
        functionName: 'getNonce',
        args: [p.sender, 0n],
      })) as bigint)
  const op: UserOperation = {
    sender: p.sender,
    nonce,
    callData: '0x',
    callGasLimit: 50_000n,
    verificationGasLimit: 1_000_000n,
    preVerificationGas: 100_000n,
    ...fees,
    signature: encodeAction(p.account),
  }
  if (p.factory) {
    const a = p.factory.action
    op.factory = p.factory.address
    op.factoryData = encodeFunctionData({
      abi: testArtifact('RulesFactory').abi,
      functionName: 'createAccount',
      args: [
        p.factory.salt,
        BigInt(a?.kind ?? 0),
        a?.target ?? '0x0000000000000000000000000000000000000000',
        a?.arg ?? 0n,
      ],
    })
  }
  if (p.paymaster) {
    op.paymaster = p.paymaster.address
    op.paymasterVerificationGasLimit = 500_000n
    op.paymasterPostOpGasLimit = 0n
    op.paymasterData = encodeAction(p.paymaster.action)
  }
  return op
}

async function stake(env: RulesEnv, entity: Address, value: bigint, delay: number): Promise<void> {
  await send(env, {
    to: entity,
    value,
    data: encodeFunctionData({
      abi: testArtifact('RulesFactory').abi,
      functionName: 'addStake',
      args: [env.entryPoint, delay],
    }),
  })
}

function epCall(version: EntryPointVersion, functionName: string, args: unknown[]): Hex {
  return encodeFunctionData({ abi: entryPointAbi(version), functionName, args } as never)
}

async function deploy(env: RulesEnv, name: string, args: unknown[]): Promise<Address> {
  const a = testArtifact(name)
  const receipt = await send(env, { data: encodeDeployData({ abi: a.abi, bytecode: a.bytecode, args }) })
  if (!receipt.contractAddress) throw new Error(`${name} deployment created no contract`)
  return getAddress(receipt.contractAddress)
}

export async function setBalance(chain: TestChain, address: Address, value: bigint): Promise<void> {
  await chain.client.request({
    method: 'anvil_setBalance' as never,
    params: [address, numberToHex(value)] as never,
  })
}

async function send(env: RulesEnv, tx: { to?: Address; data: Hex; value?: bigint }) {
  const { chain, deployer } = env
  const fees = await currentFees(chain)
  const nonce = await chain.client.getTransactionCount({ address: deployer.address, blockTag: 'pending' })
  const raw = await deployer.signTransaction({
    type: 'eip1559',
    chainId: chain.chainId,
    nonce,
    gas: 5_000_000n,
    ...fees,
    ...tx,
  })
  const hash = await chain.client.sendRawTransaction({ serializedTransaction: raw })
  const receipt = await chain.client.waitForTransactionReceipt({ hash, pollingInterval: 20, timeout: 30_000 })
  if (receipt.status !== 'success') throw new Error(`transaction ${hash} reverted`)
  return receipt
}
