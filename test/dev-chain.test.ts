import { type Address, createPublicClient, getContractAddress, http } from 'viem'
import { describe, expect, it } from 'vitest'
import {
  CREATE2_DEPLOYER,
  ENTRY_POINT_VERSIONS,
  ENTRY_POINTS,
  entryPointAbi,
  entryPointArtifact,
} from '../src/chain/entrypoint.js'
import { startAnvil } from '../src/dev/anvil.js'
import { deployCanonical } from '../src/dev/deploy.js'

describe('embedded dev chain', () => {
  it('deploys EntryPoint v0.6 to v0.9 at their canonical addresses with their factories, idempotently', async () => {
    const node = await startAnvil({ blockTime: 1 })
    try {
      const first = await deployCanonical(node.url)
      for (const v of ENTRY_POINT_VERSIONS) expect(first.entryPoints[v]).toBe(ENTRY_POINTS[v].address)
      expect(first.factories['v0.6']).toBe('0x9406Cc6185a346906296840746125a0E44976454')
      expect(first.factories['v0.7']).toBe('0x91E60e0613810449d098b0b5Ec8b51A0FE8c8985')
      const client = createPublicClient({ transport: http(node.url) })
      for (const address of [...Object.values(first.entryPoints), ...Object.values(first.factories)]) {
        expect((await client.getCode({ address }))?.length ?? 0).toBeGreaterThan(100)
      }
      const again = await deployCanonical(node.url)
      expect(again).toEqual(first)

      // v0.9: the constructor ran at the canonical address, so its SenderCreator (created by it,
      // at the address EntryPointSimulations expects) answers to the canonical EntryPoint.
      const v09 = ENTRY_POINTS['v0.9'].address
      const senderCreator = await client.readContract({
        address: v09,
        abi: entryPointAbi('v0.9'),
        functionName: 'senderCreator',
      })
      expect(senderCreator).toBe(getContractAddress({ from: v09, nonce: 1n }))
      const creatorAbi = entryPointArtifact('v0.9', 'SenderCreator').abi
      expect(
        await client.readContract({
          address: senderCreator as Address,
          abi: creatorAbi,
          functionName: 'entryPoint',
        }),
      ).toBe(v09)
      // The factory of v0.9 was built against it (its constructor asked the EntryPoint).
      const factoryAbi = entryPointArtifact('v0.9', 'SimpleAccountFactory').abi
      expect(
        await client.readContract({
          address: first.factories['v0.9'],
          abi: factoryAbi,
          functionName: 'senderCreator',
        }),
      ).toBe(senderCreator)
    } finally {
      await node.stop()
    }
  })

  it('v0.6 to v0.8 npm init code with the published salt lands at the canonical address; v0.9.0-rc.1 does not', () => {
    for (const v of ENTRY_POINT_VERSIONS) {
      const landed = getContractAddress({
        opcode: 'CREATE2',
        from: CREATE2_DEPLOYER,
        salt: ENTRY_POINTS[v].salt,
        bytecode: entryPointArtifact(v, 'EntryPoint').bytecode,
      })
      expect(landed === ENTRY_POINTS[v].address).toBe(ENTRY_POINTS[v].create2Reproducible)
    }
    expect(ENTRY_POINTS['v0.9'].create2Reproducible).toBe(false)
  })

  it('stop() kills the anvil process', async () => {
    const node = await startAnvil()
    await node.stop()
    await expect(
      fetch(node.url, { method: 'POST', body: '{}', signal: AbortSignal.timeout(1000) }),
    ).rejects.toThrow()
  })
})
