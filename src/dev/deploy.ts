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
  /** The canonical Simple7702Account implementations (EIP-7702 delegates), v0.8 and v0.9. */
  delegates: Partial<Record<EntryPointVersion, Address>>
}

/**
 * The Simple7702Account addresses viem's `toSimple7702SmartAccount` delegates to. v0.8's package
 * init code lands there through the CREATE2 deployer with salt 0; v0.9.0-rc.1's (constructor
 * argument: the v0.9 EntryPoint) does not, so its constructor is run at the address (placeAtCanonical).
 */
export const SIMPLE_7702_ACCOUNTS: Partial<Record<EntryPointVersion, Address>> = {
  'v0.8': '0xe6Cae83BdE06E4c305530e199D7217f42808555B',
  'v0.9': '0xa46cc63eBF4Bd77888AA327837d20b23A63a56B5',
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

export interface DeploymentPlan {
  /** Contracts whose init code lands at their address through the CREATE2 deployer (first round). */
  entryPoints: Create2Plan[]
  /**
   * EntryPoints whose npm init code does not reproduce the canonical address (v0.9.0-rc.1): their
   * constructor is run at the canonical address instead (placeAtCanonical).
   */
  placed: { version: EntryPointVersion; address: Address; initCode: Hex }[]
  /** The SimpleAccountFactories, after every EntryPoint has code (their constructors call it). */
  factories: Create2Plan[]
  /** Simple7702Account implementations that land at their canonical address through CREATE2. */
  delegates: Create2Plan[]
  /** Those whose constructor is run at the canonical address instead (placed, as EntryPoints are). */
  placedDelegates: { version: EntryPointVersion; address: Address; initCode: Hex }[]
  deployment: Deployment
}

export function plannedDeployment(): DeploymentPlan {
  const plan: DeploymentPlan = {
    entryPoints: [],
    placed: [],
    factories: [],
    delegates: [],
    placedDelegates: [],
    deployment: { entryPoints: {}, factories: {}, delegates: {} } as Deployment,
  }
  for (const v of ENTRY_POINT_VERSIONS) {
    const spec = ENTRY_POINTS[v]
    const initCode = entryPointArtifact(v, 'EntryPoint').bytecode
    const ep = create2Plan(spec.salt, initCode, 8_000_000n)
    if (spec.create2Reproducible) {
      if (ep.address !== spec.address) {
        throw new Error(`EntryPoint ${v} artifact yields ${ep.address}, not the canonical ${spec.address}`)
      }
      plan.entryPoints.push(ep)
    } else plan.placed.push({ version: v, address: spec.address, initCode })
    const factoryInit = concat([
      entryPointArtifact(v, 'SimpleAccountFactory').bytecode,
      encodeAbiParameters([{ type: 'address' }], [spec.address]),
    ])
    const factory = create2Plan(ZERO_SALT, factoryInit, 5_000_000n)
    plan.factories.push(factory)
    plan.deployment.entryPoints[v] = spec.address
    plan.deployment.factories[v] = factory.address
    planDelegate(plan, v)
  }
  return plan
}

function planDelegate(plan: DeploymentPlan, v: EntryPointVersion): void {
  const address = SIMPLE_7702_ACCOUNTS[v]
  if (!address) return
  const artifact = entryPointArtifact(v, 'Simple7702Account')
  // v0.9's implementation takes its EntryPoint as a constructor argument; v0.8's has it as a constant.
  const hasArgument = artifact.abi.some((e) => e.type === 'constructor' && e.inputs.length > 0)
  const initCode = hasArgument
    ? concat([artifact.bytecode, encodeAbiParameters([{ type: 'address' }], [ENTRY_POINTS[v].address])])
    : artifact.bytecode
  const create2 = create2Plan(ZERO_SALT, initCode, 3_000_000n)
  if (create2.address === address) plan.delegates.push(create2)
  else plan.placedDelegates.push({ version: v, address, initCode })
  plan.deployment.delegates[v] = address
}

type DevClient = ReturnType<typeof createPublicClient>

/**
 * Deploys the canonical EntryPoints (v0.6 to v0.9) and their SimpleAccountFactories, from an
 * unlocked dev account. Idempotent: contracts already present are left alone. Each round's
 * transactions go out at once (consecutive nonces) so an interval-mining chain needs one block per
 * round: the EntryPoints first, then the factories (their constructors call the EntryPoint).
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
  const plan = plannedDeployment()

  const send = async (txs: { to: Address; data: Hex; gas: bigint }[]) => {
    let nonce = await pub.getTransactionCount({ address: sender, blockTag: 'pending' })
    const hashes: Hash[] = []
    for (const tx of txs) hashes.push(await wallet.sendTransaction({ chain: null, ...tx, nonce: nonce++ }))
    for (const hash of hashes) {
      const receipt = await pub.waitForTransactionReceipt({ hash, pollingInterval: 50, timeout: 30_000 })
      if (receipt.status !== 'success') throw new Error(`deployment transaction ${hash} reverted`)
    }
  }
  const missing = async (address: Address) => {
    const code = await pub.getCode({ address })
    return !code || code === '0x'
  }

  const placing: { address: Address; runtime: Hex }[] = []
  for (const p of plan.placed) {
    if (await missing(p.address))
      placing.push({ address: p.address, runtime: await prepareAtCanonical(pub, p) })
  }
  const create2 = async (plans: Create2Plan[]) => {
    const txs = []
    for (const p of plans)
      if (await missing(p.address)) txs.push({ to: CREATE2_DEPLOYER, data: p.data, gas: p.gas })
    return txs
  }
  await send([
    ...(await create2(plan.entryPoints)),
    ...placing.map((p) => ({ to: p.address, data: '0x' as Hex, gas: CONSTRUCTOR_GAS })),
  ])
  for (const p of placing) await setCode(pub, p.address, p.runtime)
  await send([...(await create2(plan.factories)), ...(await create2(plan.delegates))])
  // The implementation's constructor only stores its EntryPoint: its runtime code is all it leaves.
  for (const p of plan.placedDelegates) {
    if (await missing(p.address)) await setCode(pub, p.address, await prepareAtCanonical(pub, p))
  }

  for (const address of [
    ...Object.values(plan.deployment.entryPoints),
    ...Object.values(plan.deployment.factories),
    ...Object.values(plan.deployment.delegates),
  ]) {
    if (await missing(address)) throw new Error(`no code at ${address} after deployment`)
  }
  return plan.deployment
}

const CONSTRUCTOR_GAS = 15_000_000n

/**
 * Runs an EntryPoint's constructor at its canonical address, for a package whose init code does not
 * land there through CREATE2 (v0.9.0-rc.1): the init code is placed at the address as code, with the
 * nonce a freshly created contract has (1), so that what the constructor creates (the
 * SenderCreator, whose own immutable is the EntryPoint) and computes (immutables, the EIP-712
 * domain) is what a real deployment at that address would give. An eth_call of it returns the
 * runtime code; the caller then sends the same call as a transaction (it creates the
 * SenderCreator and writes the constructor's storage) and places that runtime code.
 */
async function prepareAtCanonical(pub: DevClient, p: { address: Address; initCode: Hex }): Promise<Hex> {
  await pub.request({ method: 'anvil_setNonce' as never, params: [p.address, '0x1'] as never })
  await setCode(pub, p.address, p.initCode)
  const runtime = (await pub.request({
    method: 'eth_call',
    params: [{ to: p.address, data: '0x', gas: toHex(CONSTRUCTOR_GAS) }, 'latest'],
  } as never)) as Hex
  if (!runtime || runtime === '0x') throw new Error(`the constructor at ${p.address} returned no code`)
  return runtime
}

async function setCode(pub: DevClient, address: Address, code: Hex): Promise<void> {
  await pub.request({ method: 'anvil_setCode' as never, params: [address, code] as never })
}

/** Sets each address's balance on a dev node (anvil). */
export async function fundAccounts(nodeUrl: string, addresses: Address[], wei: bigint): Promise<void> {
  const pub = createPublicClient({ transport: http(nodeUrl) })
  for (const address of addresses) {
    await pub.request({ method: 'anvil_setBalance' as never, params: [address, toHex(wei)] as never })
  }
}
