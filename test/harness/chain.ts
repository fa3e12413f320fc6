import { createPublicClient, defineChain, http, type PublicClient } from 'viem'
import { type AnvilNode, type AnvilOptions, startAnvil } from '../../src/dev/anvil.js'
import { type Deployment, deployCanonical } from '../../src/dev/deploy.js'

/** A real anvil with EntryPoint v0.7/v0.8 and their SimpleAccountFactories deployed. */
export interface TestChain {
  node: AnvilNode
  url: string
  chainId: number
  deployment: Deployment
  client: PublicClient
  stop(): Promise<void>
}

/** Polls fast: tests wait on a local node that answers in milliseconds. */
const POLL_MS = 50
/** How long a `noMining` chain may take to deploy, mining one block per poll. */
const DEPLOY_TIMEOUT_MS = 30_000

export async function startTestChain(opts: AnvilOptions = {}): Promise<TestChain> {
  const node = await startAnvil(opts)
  try {
    const deployment = opts.noMining ? await deployWhileMining(node.url) : await deployCanonical(node.url)
    const chain = defineChain({
      id: node.chainId,
      name: `anvil-${node.port}`,
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [node.url] } },
    })
    // cacheTime 0: viem otherwise answers getBlockNumber from a cache as old as the polling interval,
    // and a test that mines then reads the head could simulate at the block before its own change.
    const client = createPublicClient({
      chain,
      transport: http(node.url),
      pollingInterval: POLL_MS,
      cacheTime: 0,
    })
    return {
      node,
      url: node.url,
      chainId: node.chainId,
      deployment,
      client: client as PublicClient,
      stop: () => node.stop(),
    }
  } catch (err) {
    await node.stop()
    throw err
  }
}

/** A chain that mines only on demand cannot confirm the deployment: mine until it is done. */
async function deployWhileMining(url: string): Promise<Deployment> {
  const client = createPublicClient({ transport: http(url) })
  let done = false
  const deploying = deployCanonical(url).finally(() => {
    done = true
  })
  const deadline = Date.now() + DEPLOY_TIMEOUT_MS
  while (!done && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, POLL_MS))
    if (!done) await client.request({ method: 'evm_mine' as never, params: [] as never })
  }
  return deploying
}
