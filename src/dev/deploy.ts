import {
  type Address,
  concat,
  createPublicClient,
  createWalletClient,
  encodeAbiParameters,
  getContractAddress,
  type Hash,
  type Hex,
  http,
  pad,
  toHex,
} from 'viem'
import {
  CREATE2_DEPLOYER,
  ENTRY_POINT_VERSIONS,
  ENTRY_POINTS,
  type EntryPointVersion,
  entryPointArtifact,
} from '../chain/entrypoint.js'

export interface Deployment {
  entryPoints: Record<EntryPointVersion, Address>
  factories: Record<EntryPointVersion, Address>
}

const ZERO_SALT = pad('0x00', { size: 32 })

interface Create2Plan {
  address: Address
  data: Hex
  gas: bigint
}

function create2Plan(salt: Hex, initCode: Hex, gas: bigint): Create2Plan {
  return {
    address: getContractAddress({ opcode: 'CREATE2', from: CREATE2_DEPLOYER, salt, bytecode: initCode }),
    data: concat([salt, initCode]),
    gas,
  }
}

export function plannedDeployment(): { plans: Create2Plan[]; deployment: Deployment } {
  const plans: Create2Plan[] = []
  const entryPoints = {} as Record<EntryPointVersion, Address>
  const factories = {} as Record<EntryPointVersion, Address>
  for (const v of ENTRY_POINT_VERSIONS) {
    const ep = create2Plan(ENTRY_POINTS[v].salt, entryPointArtifact(v, 'EntryPoint').bytecode, 8_000_000n)
    if (ep.address !== ENTRY_POINTS[v].address) {
      throw new Error(
        `EntryPoint ${v} artifact yields ${ep.address}, not the canonical ${ENTRY_POINTS[v].address}`,
      )
    }
    const factoryInit = concat([
      entryPointArtifact(v, 'SimpleAccountFactory').bytecode,
      encodeAbiParameters([{ type: 'address' }], [ep.address]),
    ])
    const factory = create2Plan(ZERO_SALT, factoryInit, 5_000_000n)
    plans.push(ep, factory)
    entryPoints[v] = ep.address
    factories[v] = factory.address
  }
  return { plans, deployment: { entryPoints, factories } }
}

/**
 * Deploys the canonical EntryPoints and their SimpleAccountFactories through the CREATE2 deployer,
 * from an unlocked dev account. Idempotent: contracts already present are left alone. All
 * transactions go out at once (consecutive nonces) so an interval-mining chain needs one block.
 */
export async function deployCanonical(nodeUrl: string, from?: Address): Promise<Deployment> {
  const transport = http(nodeUrl)
  const pub = createPublicClient({ transport })
  const sender =
    from ??
    (
      await pub.request<{ Method: 'eth_accounts'; Parameters: []; ReturnType: Address[] }>({
        method: 'eth_accounts',
        params: [],
      })
    )[0]
  if (!sender) throw new Error('the dev node has no unlocked account to deploy from')
  const wallet = createWalletClient({ transport, account: sender })
  const { plans, deployment } = plannedDeployment()

  let nonce = await pub.getTransactionCount({ address: sender, blockTag: 'pending' })
  const hashes: Hash[] = []
  for (const plan of plans) {
    const code = await pub.getCode({ address: plan.address })
    if (code && code !== '0x') continue
    hashes.push(
      await wallet.sendTransaction({
        chain: null,
        to: CREATE2_DEPLOYER,
        data: plan.data,
        gas: plan.gas,
        nonce: nonce++,
      }),
    )
  }
  for (const hash of hashes) {
    const receipt = await pub.waitForTransactionReceipt({ hash, pollingInterval: 50, timeout: 30_000 })
    if (receipt.status !== 'success') throw new Error(`deployment transaction ${hash} reverted`)
  }
  for (const plan of plans) {
    const code = await pub.getCode({ address: plan.address })
    if (!code || code === '0x') throw new Error(`no code at ${plan.address} after deployment`)
  }
  return deployment
}

/** Sets each address's balance on a dev node (anvil). */
export async function fundAccounts(nodeUrl: string, addresses: Address[], wei: bigint): Promise<void> {
  const pub = createPublicClient({ transport: http(nodeUrl) })
  for (const address of addresses) {
    await pub.request({ method: 'anvil_setBalance' as never, params: [address, toHex(wei)] as never })
  }
}
