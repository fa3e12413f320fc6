import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  type Abi,
  type Address,
  createWalletClient,
  encodeDeployData,
  encodeFunctionData,
  getAddress,
  type Hash,
  type Hex,
  http,
  numberToHex,
  type PrivateKeyAccount,
} from 'viem'
import { newOwner } from '../harness/account.js'
import type { TestChain } from '../harness/chain.js'

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'contracts', 'artifacts')

/** An artifact of the project's own test contracts (contracts/src, built by `npm run contracts`). */
export function testArtifact(name: string): { abi: Abi; bytecode: Hex; deployedBytecode: Hex } {
  return JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8'))
}

/** Deploys and calls the project's test contracts from one funded key (their admin, where they have one). */
export class TestDeployer {
  readonly account: PrivateKeyAccount = newOwner()
  private funded = false

  constructor(private readonly chain: TestChain) {}

  async deploy(name: string, args: unknown[]): Promise<Address> {
    const art = testArtifact(name)
    const data = encodeDeployData({ abi: art.abi, bytecode: art.bytecode, args })
    const r = await this.mined(
      await (await this.wallet()).sendTransaction({ chain: null, data, gas: 5_000_000n }),
    )
    return getAddress(r.contractAddress as Address)
  }

  async call(to: Address, name: string, fn: string, args: unknown[], value = 0n): Promise<void> {
    const data = encodeFunctionData({ abi: testArtifact(name).abi, functionName: fn, args })
    await this.mined(
      await (await this.wallet()).sendTransaction({ chain: null, to, data, value, gas: 500_000n }),
    )
  }

  private async wallet() {
    if (!this.funded) {
      await this.chain.client.request({
        method: 'anvil_setBalance' as never,
        params: [this.account.address, numberToHex(10n ** 22n)] as never,
      })
      this.funded = true
    }
    return createWalletClient({ account: this.account, transport: http(this.chain.url) })
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
 * Deploys one of the project's test contracts from a fresh funded key, then calls its `deposit`
 * with `deposit` wei when asked (the test paymasters put it into their EntryPoint).
 */
export async function deployTestContract(
  chain: TestChain,
  name: string,
  args: readonly unknown[],
  opts: { deposit?: bigint } = {},
): Promise<Address> {
  const deployer = new TestDeployer(chain)
  const address = await deployer.deploy(name, [...args])
  if (opts.deposit !== undefined) await deployer.call(address, name, 'deposit', [], opts.deposit)
  return address
}
