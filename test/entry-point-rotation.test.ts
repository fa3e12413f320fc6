import fc from 'fast-check'
import type { Address } from 'viem'
import { describe, expect, it } from 'vitest'
import type { Bundle, NoBundleReason, Proposal } from '../src/builder/bundle.js'
import { EntryPointRotation } from '../src/builder/entry-point-rotation.js'
import type { ProposeRequest } from '../src/builder/proposer.js'

const EPS = ['0xa', '0xb', '0xc', '0xd'].map((s) => s.padEnd(42, '0')) as Address[]
const REQ = { signer: EPS[0] as Address, shardIndex: 0 }
const NONE = (reason: NoBundleReason) => ({ kind: 'none', reason }) as Proposal

/** A proposer that has a bundle for the EntryPoints in `withOps` and records who was asked. */
function proposer(withOps: (ep: Address) => boolean) {
  const asked: Address[] = []
  return {
    asked,
    async propose(req: ProposeRequest): Promise<Proposal> {
      asked.push(req.entryPoint)
      if (!withOps(req.entryPoint)) return NONE('no_ops')
      const bundle = { entryPoint: req.entryPoint, groups: [] } as unknown as Bundle
      return { kind: 'bundle', bundle, fees: { maxFeePerGas: 1n, maxPriorityFeePerGas: 1n } } as Proposal
    },
  }
}

describe('EntryPointRotation', () => {
  it('starts the next fresh proposal after the EntryPoint just bundled; a replacement at it', async () => {
    const p = proposer((ep) => ep === EPS[1])
    const r = new EntryPointRotation(EPS, p)
    expect((await r.propose(REQ)).result).toMatchObject({ kind: 'bundle', entryPoint: EPS[1] })
    expect(p.asked).toEqual([EPS[0], EPS[1]])
    p.asked.length = 0
    await r.propose(REQ)
    expect(p.asked).toEqual([EPS[2], EPS[3], EPS[0], EPS[1]])
    p.asked.length = 0
    await r.propose({ ...REQ, feeFloor: { maxFeePerGas: 2n, maxPriorityFeePerGas: 2n } })
    expect(p.asked[0]).toBe(EPS[1])
  })

  it('keeps the reason that says the most when no EntryPoint has a bundle', async () => {
    const reasons = ['no_ops', 'insufficient_balance', 'unprofitable', 'no_ops'] as const
    const r = new EntryPointRotation(EPS, {
      propose: async (req: ProposeRequest) => NONE(reasons[EPS.indexOf(req.entryPoint)] ?? 'no_ops'),
    })
    expect((await r.propose(REQ)).result).toEqual({ kind: 'none', reason: 'insufficient_balance' })
  })

  it('starves no EntryPoint: with ops everywhere, any N consecutive bundles cover all N (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.boolean(), { minLength: 8, maxLength: 40 }), async (replacing) => {
        const r = new EntryPointRotation(
          EPS,
          proposer(() => true),
        )
        const bundled: Address[] = []
        for (const rep of replacing) {
          // Every EntryPoint has ops: the first one asked is bundled. Replacements keep their
          // EntryPoint and are not new bundles.
          const replacement = rep && bundled.length > 0
          const p = await r.propose(
            replacement ? { ...REQ, feeFloor: { maxFeePerGas: 2n, maxPriorityFeePerGas: 2n } } : REQ,
          )
          const ep = (p.result as { entryPoint: Address }).entryPoint
          if (replacement) expect(ep).toBe(bundled[bundled.length - 1])
          else bundled.push(ep)
        }
        for (let i = 0; i + EPS.length <= bundled.length; i++)
          expect(new Set(bundled.slice(i, i + EPS.length)).size).toBe(EPS.length)
      }),
    )
  })
})
