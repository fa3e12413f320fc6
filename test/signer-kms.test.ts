import {
  createPublicClient,
  createTestClient,
  type Hex,
  http,
  parseEther,
  parseTransaction,
  recoverTransactionAddress,
} from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSignerManager } from '../src/builder/signer/create.js'
import { KmsError, SignerConfigError, UnsupportedTransactionError } from '../src/builder/signer/errors.js'
import { KmsSigner } from '../src/builder/signer/kms.js'
import { createKmsClient } from '../src/builder/signer/kms-client.js'
import { type AnvilNode, startAnvil } from '../src/dev/anvil.js'
import { type KmsTestServer, startKmsServer } from './support/kms-server.js'

// Dummy credentials for the SDK's standard chain (environment provider); the endpoint is local.
process.env.AWS_ACCESS_KEY_ID = 'AKIDCONVEYORTEST'
process.env.AWS_SECRET_ACCESS_KEY = 'conveyor-test-secret'
process.env.AWS_EC2_METADATA_DISABLED = 'true'

let anvil: AnvilNode
let kms: KmsTestServer

beforeAll(async () => {
  ;[anvil, kms] = await Promise.all([startAnvil(), startKmsServer()])
})
afterAll(async () => {
  await Promise.all([anvil?.stop(), kms?.stop()])
})

function clients() {
  const pub = createPublicClient({ transport: http(anvil.url) })
  const test = createTestClient({ mode: 'anvil', transport: http(anvil.url) })
  return { pub, test }
}

async function transferRequest(from: `0x${string}`, to: `0x${string}`) {
  const { pub } = clients()
  const nonce = await pub.getTransactionCount({ address: from, blockTag: 'pending' })
  const block = await pub.getBlock()
  return {
    type: 'eip1559' as const,
    chainId: anvil.chainId,
    nonce,
    to,
    value: 1000n,
    gas: 21_000n,
    maxPriorityFeePerGas: 1_000_000_000n,
    maxFeePerGas: (block.baseFeePerGas ?? 0n) * 2n + 1_000_000_000n,
  }
}

function kmsClient(opts: { maxAttempts?: number; requestTimeoutMillis?: number } = {}) {
  return createKmsClient({ region: 'us-east-1', endpoint: kms.url, ...opts })
}

describe('KMS signer through the real AWS SDK against a wire-compatible KMS server', () => {
  it('derives the address from the SPKI public key and caches it', async () => {
    const pk = generatePrivateKey()
    const { keyId, address } = kms.addKey({ privateKey: pk })
    const before = kms.calls.filter((c) => c.op === 'GetPublicKey').length
    const signer = await KmsSigner.create(kmsClient(), keyId, { policy: { eip7702: false } })
    expect(signer.address).toBe(address)
    expect(signer.publicKey).toBe(privateKeyToAccount(pk).publicKey)
    const to = privateKeyToAccount(generatePrivateKey()).address
    await signer.signTransaction(await transferRequest(signer.address, to))
    await signer.signTransaction(await transferRequest(signer.address, to))
    // One GetPublicKey for the key's lifetime; every request was SigV4-signed by the SDK.
    expect(kms.calls.filter((c) => c.op === 'GetPublicKey').length - before).toBe(1)
    expect(kms.calls.every((c) => c.authorized)).toBe(true)
    expect(JSON.stringify(signer)).not.toContain('conveyor-test-secret')
  })

  it('signs DIGEST/ECDSA_SHA_256, normalizes high s, and the transactions are mined on anvil', async () => {
    const { keyId } = kms.addKey()
    const signer = await KmsSigner.create(kmsClient(), keyId, {
      policy: { eip7702: false, chainId: anvil.chainId },
    })
    const { pub, test } = clients()
    await test.setBalance({ address: signer.address, value: parseEther('1') })
    const to = privateKeyToAccount(generatePrivateKey()).address
    kms.highS = 'alternate'
    const highBefore = kms.highSReturned
    for (let i = 0; i < 4; i++) {
      const raw = await signer.signTransaction(await transferRequest(signer.address, to))
      const parsed = parseTransaction(raw)
      expect(BigInt(parsed.s as Hex)).toBeLessThanOrEqual(
        0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n,
      )
      expect(await recoverTransactionAddress({ serializedTransaction: raw as `0x02${string}` })).toBe(
        signer.address,
      )
      const hash = await pub.sendRawTransaction({ serializedTransaction: raw })
      const receipt = await pub.waitForTransactionReceipt({ hash, timeout: 10_000 })
      expect(receipt.status).toBe('success')
      expect(receipt.from.toLowerCase()).toBe(signer.address.toLowerCase())
    }
    expect(kms.highSReturned - highBefore).toBe(2)
    const signCalls = kms.calls.filter((c) => c.op === 'Sign' && c.keyId === keyId)
    expect(signCalls.every((c) => c.messageType === 'DIGEST' && c.signingAlgorithm === 'ECDSA_SHA_256')).toBe(
      true,
    )
    expect(await pub.getBalance({ address: to })).toBe(4000n)
  })

  it('signs an EIP-7702 transaction where enabled, and it is mined with the delegation', async () => {
    const { keyId } = kms.addKey()
    const signer = await KmsSigner.create(kmsClient(), keyId, { policy: { eip7702: true } })
    const { pub, test } = clients()
    await test.setBalance({ address: signer.address, value: parseEther('1') })
    const eoa = privateKeyToAccount(generatePrivateKey())
    const delegate = privateKeyToAccount(generatePrivateKey()).address
    const authorization = await eoa.signAuthorization({ chainId: anvil.chainId, address: delegate, nonce: 0 })
    const base = await transferRequest(signer.address, eoa.address)
    const raw = await signer.signTransaction({
      ...base,
      type: 'eip7702',
      value: 0n,
      gas: 100_000n,
      authorizationList: [authorization],
    })
    expect(raw.startsWith('0x04')).toBe(true)
    const receipt = await pub.waitForTransactionReceipt({
      hash: await pub.sendRawTransaction({ serializedTransaction: raw }),
      timeout: 10_000,
    })
    expect(receipt.status).toBe('success')
    expect((await pub.getCode({ address: eoa.address }))?.toLowerCase()).toBe(
      `0xef0100${delegate.slice(2).toLowerCase()}`,
    )

    const off = await KmsSigner.create(kmsClient(), keyId, { policy: { eip7702: false } })
    await expect(
      off.signTransaction({ ...base, type: 'eip7702', authorizationList: [authorization] }),
    ).rejects.toThrow(UnsupportedTransactionError)
    await expect(off.signTransaction({ ...base, type: 'legacy', gasPrice: 1n } as never)).rejects.toThrow(
      /legacy is not signed/,
    )
  })

  it('retries a throttled Sign within the SDK bound; a KMS that keeps throttling is a typed error, not a crash', async () => {
    const { keyId } = kms.addKey()
    const signer = await KmsSigner.create(kmsClient({ maxAttempts: 3 }), keyId, {
      policy: { eip7702: false },
    })
    const req = await transferRequest(signer.address, signer.address)
    kms.failNext('Sign', 1, 'ThrottlingException')
    const count = () => kms.calls.filter((c) => c.op === 'Sign' && c.keyId === keyId).length
    const c0 = count()
    await expect(signer.signTransaction(req)).resolves.toMatch(/^0x02/)
    expect(count() - c0).toBe(2)

    kms.failNext('Sign', 10, 'ThrottlingException')
    const c1 = count()
    const err = await signer.signTransaction(req).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(KmsError)
    expect((err as KmsError).kind).toBe('throttled')
    expect(count() - c1).toBe(3) // bounded: maxAttempts, then the error
    expect((err as KmsError).details).toMatchObject({ awsErrorName: 'ThrottlingException', attempts: 3 })
    // The error keeps no SDK response: the signed request's Authorization header never reaches a log.
    expect(JSON.stringify(err)).not.toMatch(/AWS4-HMAC-SHA256|Signature=/)
    expect((err as Error).cause).toBeUndefined()
    kms.clearFaults()
  })

  it('bounds a hanging KMS call by the timeout and reports it as unavailable', async () => {
    const { keyId } = kms.addKey()
    const signer = await KmsSigner.create(kmsClient({ maxAttempts: 1 }), keyId, {
      policy: { eip7702: false },
      timeoutMillis: 300,
    })
    const req = await transferRequest(signer.address, signer.address)
    kms.delayMillis = 2000
    const t0 = Date.now()
    try {
      const err = await signer.signTransaction(req).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(KmsError)
      expect((err as KmsError).kind).toBe('unavailable')
      expect(Date.now() - t0).toBeLessThan(1500)
    } finally {
      kms.delayMillis = 0
    }
  })

  it('stops start-up on an unknown KMS key id, naming it', async () => {
    const { keyId } = kms.addKey()
    const err = await createSignerManager({
      awsKmsKeyIds: [keyId, 'no-such-key'],
      awsKmsRegion: 'us-east-1',
      awsKmsEndpoint: kms.url,
      enableLeasing: true,
      redisUri: 'redis://127.0.0.1:1',
      redisLockTtlMillis: 60_000,
      leaseWaitMillis: 1000,
      numSigners: 2,
      chainId: anvil.chainId,
    }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SignerConfigError)
    expect((err as Error).message).toMatch(/KMS key id no-such-key was not found/)
    expect((err as Error).message).not.toContain('conveyor-test-secret')
  })

  it('a single KMS key with leasing off signs through the manager', async () => {
    const { keyId, address } = kms.addKey()
    const manager = await createSignerManager({
      awsKmsKeyIds: [keyId],
      awsKmsRegion: 'us-east-1',
      awsKmsEndpoint: kms.url,
      enableLeasing: false,
      redisLockTtlMillis: 60_000,
      leaseWaitMillis: 0,
      numSigners: 1,
      chainId: anvil.chainId,
    })
    try {
      const lease = await manager.acquire(0)
      expect(lease.keyId).toBe(keyId)
      expect(lease.signer.address).toBe(address)
      const { test } = clients()
      await test.setBalance({ address, value: parseEther('1') })
      const raw = await lease.signer.signTransaction(await transferRequest(address, address))
      const { pub } = clients()
      const receipt = await pub.waitForTransactionReceipt({
        hash: await pub.sendRawTransaction({ serializedTransaction: raw }),
        timeout: 10_000,
      })
      expect(receipt.status).toBe('success')
    } finally {
      await manager.close()
    }
  })
})
