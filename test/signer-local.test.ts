import { createPublicClient, createTestClient, http, parseEther } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSignerManager } from '../src/builder/signer/create.js'
import { LeaseLostError, UnsupportedTransactionError } from '../src/builder/signer/errors.js'
import type { Signer } from '../src/builder/signer/types.js'
import { type AnvilNode, startAnvil } from '../src/dev/anvil.js'

let anvil: AnvilNode
beforeAll(async () => {
  anvil = await startAnvil()
})
afterAll(async () => {
  await anvil?.stop()
})

const settings = { redisLockTtlMillis: 60_000, leaseWaitMillis: 0, enableLeasing: true }

async function sendSelf(signer: Signer) {
  const pub = createPublicClient({ transport: http(anvil.url) })
  const nonce = await pub.getTransactionCount({ address: signer.address, blockTag: 'pending' })
  const block = await pub.getBlock()
  const raw = await signer.signTransaction({
    type: 'eip1559',
    chainId: anvil.chainId,
    nonce,
    to: signer.address,
    gas: 21_000n,
    maxPriorityFeePerGas: 1_000_000_000n,
    maxFeePerGas: (block.baseFeePerGas ?? 0n) * 2n + 1_000_000_000n,
  })
  const hash = await pub.sendRawTransaction({ serializedTransaction: raw })
  return pub.waitForTransactionReceipt({ hash, timeout: 10_000 })
}

describe('private-key and mnemonic signers', () => {
  it('sender i signs with private key i, and the transactions are mined', async () => {
    const keys = [generatePrivateKey(), generatePrivateKey()]
    const test = createTestClient({ mode: 'anvil', transport: http(anvil.url) })
    for (const k of keys)
      await test.setBalance({ address: privateKeyToAccount(k).address, value: parseEther('1') })
    const m = await createSignerManager({
      ...settings,
      privateKeys: keys,
      numSigners: 2,
      chainId: anvil.chainId,
    })
    try {
      for (const i of [0, 1]) {
        const lease = await m.acquire(i)
        expect(lease.signer.address).toBe(privateKeyToAccount(keys[i] as `0x${string}`).address)
        expect(lease.keyId).toBe(`key-${i}`)
        const receipt = await sendSelf(lease.signer)
        expect(receipt.status).toBe('success')
        expect(receipt.from.toLowerCase()).toBe(lease.signer.address.toLowerCase())
        // Nothing about the signer serializes its key.
        expect(JSON.stringify(lease.signer)).not.toContain((keys[i] as string).slice(2))
      }
      await expect(m.acquire(2)).rejects.toThrow(RangeError)
    } finally {
      await m.close()
    }
  })

  it("mnemonic: sender i uses account i (m/44'/60'/0'/0/i)", async () => {
    const m = await createSignerManager({
      ...settings,
      mnemonic: 'test test test test test test test test test test test junk',
      numSigners: 2,
      chainId: anvil.chainId,
    })
    try {
      const [a, b] = [await m.acquire(0), await m.acquire(1)]
      expect(a.signer.address).toBe('0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266')
      expect(b.signer.address).toBe('0x70997970C51812dc3A010C7d01b50e0d17dc79C8')
      expect((await sendSelf(b.signer)).status).toBe('success')
    } finally {
      await m.close()
    }
  })

  it('a released lease refuses to sign; a fresh one signs; wrong chain and legacy types are refused', async () => {
    const key = generatePrivateKey()
    const m = await createSignerManager({
      ...settings,
      privateKeys: [key],
      numSigners: 1,
      chainId: anvil.chainId,
    })
    try {
      const lease = await m.acquire(0)
      await m.release(lease)
      expect(lease.lost.aborted).toBe(true)
      const req = {
        type: 'eip1559' as const,
        chainId: anvil.chainId,
        nonce: 0,
        to: lease.signer.address,
        gas: 21_000n,
        maxFeePerGas: 2n,
        maxPriorityFeePerGas: 1n,
      }
      await expect(lease.signer.signTransaction(req)).rejects.toThrow(LeaseLostError)
      const fresh = await m.acquire(0)
      await expect(fresh.signer.signTransaction(req)).resolves.toMatch(/^0x02/)
      await expect(fresh.signer.signTransaction({ ...req, chainId: 1 })).rejects.toThrow(
        /for chain 1, signer serves chain/,
      )
      await expect(
        fresh.signer.signTransaction({
          chainId: anvil.chainId,
          gasPrice: 1n,
          nonce: 0,
          to: req.to,
          gas: 21_000n,
        }),
      ).rejects.toThrow(UnsupportedTransactionError)
      await expect(
        fresh.signer.signTransaction({ ...req, type: 'eip7702', authorizationList: [] }),
      ).rejects.toThrow(/eip7702 transactions are not enabled/)
    } finally {
      await m.close()
    }
  })
})
