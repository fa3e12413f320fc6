import {
  type Address,
  createWalletClient,
  encodeDeployData,
  encodeFunctionData,
  getAddress,
  type Hash,
  http,
  numberToHex,
  type PrivateKeyAccount,
} from 'viem'
import { chainSpecFor } from '../../src/chain/chain-spec.js'
import type { EntryPointVersion } from '../../src/chain/entrypoint.js'
import { requiredPreVerificationGas } from '../../src/chain/gas.js'
import { type UserOperation, userOpHash } from '../../src/chain/userop.js'
import { currentFees, newOwner, SENDER_FUNDING } from '../harness/account.js'
import type { TestChain } from '../harness/chain.js'
import { testArtifact } from './contracts.js'

/** One of the project's test aggregators (contracts/src/AggregationTest.sol) and its account factory. */
export interface TestAggregation {
  aggregator: Address
  factory: Address
  /** failMode 1: aggregateSignatures reverts; 2: validateSignatures reverts; 0: works. */
  setFailMode(mode: 0 | 1 | 2): Promise<void>
}

/** Deploys contracts from one funded key (the aggregators' admin). */
export class AggregationDeployer {
  private readonly admin: PrivateKeyAccount = newOwner()
  private funded = false

  constructor(private readonly chain: TestChain) {}

  /** An aggregator for `version`'s EntryPoint, staked (1 ETH, 1 day) unless `staked` is false. */
  async deploy(version: EntryPointVersion, opts: { staked?: boolean } = {}): Promise<TestAggregation> {
    const entryPoint = this.chain.deployment.entryPoints[version]
    const aggregator = await this.create('TestAggregator', [entryPoint])
    if (opts.staked ?? true) {
      await this.send(aggregator, 'TestAggregator', 'addStake', [86_400], 10n ** 18n)
    }
    const factory = await this.create('AggregatedAccountFactory', [entryPoint, aggregator])
    return {
      aggregator,
      factory,
      setFailMode: (mode) => this.send(aggregator, 'TestAggregator', 'setFailMode', [BigInt(mode)]),
    }
  }

  private wallet() {
    return createWalletClient({ account: this.admin, transport: http(this.chain.url) })
  }

  private async fund(): Promise<void> {
    if (this.funded) return
    await this.chain.client.request({
      method: 'anvil_setBalance' as never,
      params: [this.admin.address, numberToHex(10n ** 22n)] as never,
    })
    this.funded = true
  }

  private async create(name: string, args: unknown[]): Promise<Address> {
    await this.fund()
    const art = testArtifact(name)
    const hash = await this.wallet().sendTransaction({
      chain: null,
      data: encodeDeployData({ abi: art.abi, bytecode: art.bytecode, args }),
      gas: 5_000_000n,
    })
    const r = await this.mined(hash)
    return getAddress(r.contractAddress as Address)
  }

  private async send(to: Address, name: string, fn: string, args: unknown[], value = 0n): Promise<void> {
    await this.fund()
    const data = encodeFunctionData({ abi: testArtifact(name).abi, functionName: fn, args })
    await this.mined(await this.wallet().sendTransaction({ chain: null, to, data, value, gas: 500_000n }))
  }

  private async mined(hash: Hash) {
    const r = await this.chain.client.waitForTransactionReceipt({
      hash,
      pollingInterval: 50,
      timeout: 30_000,
    })
    if (r.status !== 'success') throw new Error(`transaction ${hash} reverted`)
    return r
  }
}

/**
 * A user operation of a fresh AggregatedAccount (deployed by the op through its factory), signed
 * the test aggregator's way: the owner's raw ECDSA signature of the userOpHash. `signer` other than
 * the owner makes a wrong signature.
 */
export async function aggregatedOp(
  chain: TestChain,
  version: EntryPointVersion,
  agg: Pick<TestAggregation, 'factory'>,
  opts: { signer?: PrivateKeyAccount } = {},
): Promise<{ op: UserOperation; hash: Hash; owner: PrivateKeyAccount }> {
  const owner = newOwner()
  const factoryAbi = testArtifact('AggregatedAccountFactory').abi
  const sender = (await chain.client.readContract({
    address: agg.factory,
    abi: factoryAbi,
    functionName: 'getAddress',
    args: [owner.address, 0n],
  })) as Address
  await chain.client.request({
    method: 'anvil_setBalance' as never,
    params: [sender, numberToHex(SENDER_FUNDING)] as never,
  })
  const op: UserOperation = {
    sender,
    nonce: 0n,
    factory: agg.factory,
    factoryData: encodeFunctionData({
      abi: factoryAbi,
      functionName: 'createAccount',
      args: [owner.address, 0n],
    }),
    callData: encodeFunctionData({
      abi: testArtifact('AggregatedAccount').abi,
      functionName: 'execute',
      args: [owner.address, 0n, '0x'],
    }),
    callGasLimit: 100_000n,
    verificationGasLimit: 600_000n,
    preVerificationGas: 0n,
    ...(await currentFees(chain)),
    signature: `0x${'ff'.repeat(65)}`,
  }
  op.preVerificationGas = requiredPreVerificationGas(op, chainSpecFor(chain.chainId))
  const hash = userOpHash(op, chain.deployment.entryPoints[version], chain.chainId, version)
  op.signature = await (opts.signer ?? owner).sign({ hash })
  return { op, hash, owner }
}
