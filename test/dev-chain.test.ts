import { createPublicClient, http } from 'viem'
import { describe, expect, it } from 'vitest'
import { ENTRY_POINTS } from '../src/chain/entrypoint.js'
import { startAnvil } from '../src/dev/anvil.js'
import { deployCanonical } from '../src/dev/deploy.js'

describe('embedded dev chain', () => {
  it('deploys EntryPoint v0.7 and v0.8 at their canonical addresses, idempotently', async () => {
    const node = await startAnvil({ blockTime: 1 })
    try {
      const first = await deployCanonical(node.url)
      expect(first.entryPoints['v0.7']).toBe(ENTRY_POINTS['v0.7'].address)
      expect(first.entryPoints['v0.8']).toBe(ENTRY_POINTS['v0.8'].address)
      expect(first.factories['v0.7']).toBe('0x91E60e0613810449d098b0b5Ec8b51A0FE8c8985')
      const client = createPublicClient({ transport: http(node.url) })
      for (const address of [...Object.values(first.entryPoints), ...Object.values(first.factories)]) {
        expect((await client.getCode({ address }))?.length ?? 0).toBeGreaterThan(100)
      }
      const again = await deployCanonical(node.url)
      expect(again).toEqual(first)
    } finally {
      await node.stop()
    }
  })

  it('stop() kills the anvil process', async () => {
    const node = await startAnvil()
    await node.stop()
    await expect(
      fetch(node.url, { method: 'POST', body: '{}', signal: AbortSignal.timeout(1000) }),
    ).rejects.toThrow()
  })
})
