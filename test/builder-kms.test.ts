import { Redis } from 'ioredis'
import { type Address, type Hash, numberToHex, parseEventLogs } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type App, startApp } from '../src/app.js'
import { chainSpecFor } from '../src/chain/chain-spec.js'
import { delegationCode } from '../src/chain/eip7702.js'
import { entryPointAbi } from '../src/chain/entrypoint.js'
import { loadConfig } from '../src/config/index.js'
import { buildOp, newOwner } from './harness/account.js'
import { startTestChain, type TestChain } from './harness/chain.js'
import { build7702Op, implementation, signAuth } from './harness/eip7702.js'
import { type KmsTestServer, startKmsServer } from './support/kms-server.js'
import { startRedis } from './support/redis.js'
import { capturedLogger } from './support/relay-bundle.js'
import { waitFor } from './support/wait.js'

// Dummy credentials for the AWS SDK's standard chain (environment provider); the endpoint is local.
const SECRET = 'conveyor-builder-kms-test-secret'
process.env.AWS_ACCESS_KEY_ID = 'AKIDCONVEYORBUILDER'
process.env.AWS_SECRET_ACCESS_KEY = SECRET
process.env.AWS_EC2_METADATA_DISABLED = 'true'

const V07 = 'v0.7' as const

let chain: TestChain
let kms: KmsTestServer
beforeAll(async () => {
  ;[chain, kms] = await Promise.all([startTestChain(), startKmsServer()])
}, 60_000)
afterAll(async () => {
  await Promise.all([chain?.stop(), kms?.stop()])
})

/** The whole composition root (pool, safe simulation, RPC, builder) from `conveyor node` flags. */
async function startNode(flags: string[], entryPoint: Address = chain.deployment.entryPoints[V07]) {
  const { logger, lines } = capturedLogger()
  const config = loadConfig({
    command: 'node',
    argv: [
      `--node_http=${chain.url}`,
      `--entry_points=${entryPoint}`,
      '--rpc.port=0',
      '--metrics.port=0',
      `--signer.aws_kms_endpoint=${kms.url}`,
      '--aws_region=us-east-1',
      ...flags,
    ],
  })
  const app = await startApp({
    config,
    nodeUrl: chain.url,
    chainId: chain.chainId,
    chainSpec: chainSpecFor(chain.chainId),
    log: logger,
  })
  return { app, lines }
}

async function fundedKmsKey(): Promise<{ keyId: string; address: Address }> {
  const key = kms.addKey()
  await chain.client.request({
    method: 'anvil_setBalance' as never,
    params: [key.address, numberToHex(10n ** 20n)] as never,
  })
  return key
}

/** Puts a fresh SimpleAccount op (with its deployment) in the pool; waits until its bundle is mined. */
async function opMinedBy(app: App): Promise<{ hash: Hash; txHash: Hash }> {
  const { op, hash } = await buildOp(chain, V07, { owner: newOwner() })
  expect(await app.pool.addOp(chain.deployment.entryPoints[V07], op)).toBe(hash)
  let txHash: Hash | undefined
  await waitFor(
    async () => {
      txHash = (await app.pool.getMinedOp(hash))?.transactionHash
      return txHash !== undefined
    },
    'the op mined',
    { timeoutMs: 30_000 },
  )
  return { hash, txHash: txHash as Hash }
}

async function expectSignedByKmsAndSuccessful(txHash: Hash, opHash: Hash, signer: Address): Promise<void> {
  const tx = await chain.client.getTransaction({ hash: txHash })
  expect(tx.from.toLowerCase()).toBe(signer.toLowerCase())
  expect(tx.to?.toLowerCase()).toBe(chain.deployment.entryPoints[V07].toLowerCase())
  const receipt = await chain.client.getTransactionReceipt({ hash: txHash })
  expect(receipt.status).toBe('success')
  const events = parseEventLogs({
    abi: entryPointAbi(V07),
    eventName: 'UserOperationEvent',
    logs: receipt.logs,
  })
  const mine = events.find((e) => (e.args as { userOpHash: Hash }).userOpHash === opHash)
  expect((mine?.args as { success: boolean } | undefined)?.success).toBe(true)
}

describe('builder signs bundles through AWS KMS (KMS test server, real AWS SDK)', () => {
  it('one key, leasing off: the bundle is signed by KMS and mined with the op successful', async () => {
    const { keyId, address } = await fundedKmsKey()
    const signsBefore = kms.calls.filter((c) => c.op === 'Sign' && c.keyId === keyId).length
    const { app, lines } = await startNode([
      `--signer.aws_kms_key_ids=${keyId}`,
      '--signer.enable_kms_locking=false',
    ])
    try {
      const { hash, txHash } = await opMinedBy(app)
      await expectSignedByKmsAndSuccessful(txHash, hash, address)
      const signs = kms.calls.filter((c) => c.op === 'Sign' && c.keyId === keyId)
      expect(signs.length).toBeGreaterThan(signsBefore)
      for (const c of signs) {
        expect(c.authorized).toBe(true)
        expect(c.messageType).toBe('DIGEST')
        expect(c.signingAlgorithm).toBe('ECDSA_SHA_256')
      }
      expect(app.builder!.senders[0]?.status().signer).toBe(address)
      expect(lines.join('\n')).not.toContain(SECRET)
    } finally {
      await app.stop()
    }
  }, 60_000)

  it('leased through redis-server: the sender holds the key’s lock while its KMS-signed bundle is mined', async () => {
    const redis = await startRedis()
    const probe = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 })
    try {
      const { keyId, address } = await fundedKmsKey()
      const { app, lines } = await startNode([
        `--signer.aws_kms_key_ids=${keyId}`,
        '--signer.enable_kms_locking=true',
        `--signer.redis_uri=${redis.url}`,
        '--signer.lease_wait_millis=5000',
      ])
      try {
        const { hash, txHash } = await opMinedBy(app)
        await expectSignedByKmsAndSuccessful(txHash, hash, address)
        // Rundler's lock name: {chainId}:{kmsKeyId}, held while the sender runs.
        await probe.connect()
        const keys = await probe.keys('*')
        expect(keys.some((k) => k.includes(`${chain.chainId}:${keyId}`))).toBe(true)
        expect(lines.join('\n')).not.toContain(SECRET)
      } finally {
        await app.stop()
      }
      // Stopping the builder gives the lease back.
      const after = await probe.keys('*')
      expect(after.some((k) => k.includes(`${chain.chainId}:${keyId}`))).toBe(false)
    } finally {
      probe.disconnect()
      await redis.stop()
    }
  }, 60_000)

  it('an op with an EIP-7702 authorization: KMS signs the type-4 bundle, mined with the delegation', async () => {
    const { keyId, address } = await fundedKmsKey()
    const { app } = await startNode(
      [`--signer.aws_kms_key_ids=${keyId}`, '--signer.enable_kms_locking=false'],
      chain.deployment.entryPoints['v0.8'],
    )
    try {
      const owner = newOwner()
      const impl = implementation(chain, 'v0.8')
      const auth = await signAuth(chain, owner, impl)
      const { op, hash } = await build7702Op(chain, 'v0.8', { owner, auth })
      expect(await app.pool.addOp(chain.deployment.entryPoints['v0.8'], op)).toBe(hash)
      let txHash: Hash | undefined
      await waitFor(
        async () => {
          txHash = (await app.pool.getMinedOp(hash))?.transactionHash
          return txHash !== undefined
        },
        'the 7702 op mined',
        { timeoutMs: 30_000 },
      )
      const tx = await chain.client.getTransaction({ hash: txHash as Hash })
      expect(tx.type).toBe('eip7702')
      expect(tx.from.toLowerCase()).toBe(address.toLowerCase())
      expect(tx.authorizationList?.[0]?.address.toLowerCase()).toBe(impl.toLowerCase())
      expect((await chain.client.getTransactionReceipt({ hash: txHash as Hash })).status).toBe('success')
      expect((await chain.client.getCode({ address: owner.address }))?.toLowerCase()).toBe(
        delegationCode(impl),
      )
      expect((await app.pool.getMinedOp(hash))?.success).toBe(true)
    } finally {
      await app.stop()
    }
  }, 60_000)
})
