import { type Address, encodeFunctionData, type Hash, numberToHex, type PrivateKeyAccount } from 'viem'
import { chainSpecFor } from '../../src/chain/chain-spec.js'
import type { EntryPointVersion } from '../../src/chain/entrypoint.js'
import { requiredPreVerificationGas } from '../../src/chain/gas.js'
import { type UserOperation, userOpHash } from '../../src/chain/userop.js'
import { currentFees, newOwner, SENDER_FUNDING } from '../harness/account.js'
import type { TestChain } from '../harness/chain.js'
import { TestDeployer, testArtifact } from './contracts.js'

/** One of the project's test aggregators (contracts/src/AggregationTest.sol) and its account factory. */
export interface TestAggregation {
  aggregator: Address
  factory: Address
  /** failMode 1: aggregateSignatures reverts; 2: validateSignatures reverts; 0: works. */
  setFailMode(mode: 0 | 1 | 2 | 3): Promise<void>
}

/** Deploys the test aggregators (staked unless asked otherwise) and their account factories. */
export class AggregationDeployer {
  private readonly deployer: TestDeployer

  constructor(private readonly chain: TestChain) {
    this.deployer = new TestDeployer(chain)
  }

  /** An aggregator for `version`'s EntryPoint, staked (1 ETH, 1 day) unless `staked` is false. */
  async deploy(version: EntryPointVersion, opts: { staked?: boolean } = {}): Promise<TestAggregation> {
    const d = this.deployer
    const entryPoint = this.chain.deployment.entryPoints[version]
    const aggregator = await d.deploy('TestAggregator', [entryPoint])
    if (opts.staked ?? true) await d.call(aggregator, 'TestAggregator', 'addStake', [86_400], 10n ** 18n)
    const factory = await d.deploy('AggregatedAccountFactory', [entryPoint, aggregator])
    return {
      aggregator,
      factory,
      setFailMode: (mode) => d.call(aggregator, 'TestAggregator', 'setFailMode', [BigInt(mode)]),
    }
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
