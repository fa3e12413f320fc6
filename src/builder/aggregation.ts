import type { Address, Hex, PublicClient } from 'viem'
import type { EntryPointModule } from '../chain/entrypoint/types.js'
import { decodeRevert, describeRevert, extractRevertData } from '../chain/revert.js'
import type { PoolOp } from '../pool/types.js'
import { aggregatorAbi } from '../sim/aggregated-signature.js'
import type { OpGroup } from './bundle.js'
import { bundledOp } from './handle-ops.js'
import type { ProposalRecorder } from './proposal-report.js'

/**
 * The seed's "optionally calculates any aggregated signatures" (ERC-7766), for one proposal: ops are
 * grouped by aggregator; each aggregator's `aggregateSignatures` makes its group's signature from
 * the ops' own signatures, and its `validateSignatures` must accept that signature over the ops as
 * the bundle carries them (each with its `sigForUserOp`), which also gives the gas it takes on chain.
 * An aggregator that reverts in either costs only its own group: those ops leave the bundle and
 * the pool and the aggregator is penalised; the rest of the bundle goes on. Groups are remembered
 * by their members, so the handleOps loop's later rounds do not ask again for an unchanged group.
 */
export class Aggregation {
  private readonly known = new Map<string, OpGroup | 'failed'>()

  constructor(
    private readonly client: PublicClient,
    private readonly ep: EntryPointModule,
    private readonly recorder: ProposalRecorder,
  ) {}

  /** Plain ops first (one group), then one group per aggregator that worked; failed groups are gone. */
  async group(ops: PoolOp[]): Promise<OpGroup[]> {
    const byAggregator = new Map<string, PoolOp[]>()
    for (const c of ops) {
      const key = c.aggregator?.toLowerCase() ?? ''
      byAggregator.set(key, [...(byAggregator.get(key) ?? []), c])
    }
    const groups: OpGroup[] = []
    for (const [key, members] of byAggregator) {
      if (key === '') {
        groups.unshift({ ops: members })
        continue
      }
      const group = await this.aggregated(members[0]?.aggregator as Address, members)
      if (group) groups.push(group)
    }
    return groups
  }

  private async aggregated(aggregator: Address, ops: PoolOp[]): Promise<OpGroup | undefined> {
    const key = `${aggregator.toLowerCase()}:${ops.map((c) => c.hash).join(',')}`
    const seen = this.known.get(key)
    if (seen) return seen === 'failed' ? undefined : seen
    const abi = aggregatorAbi(this.ep)
    let step = 'aggregateSignatures'
    try {
      const signature = (await this.client.readContract({
        address: aggregator,
        abi,
        functionName: 'aggregateSignatures',
        args: [ops.map((c) => this.ep.toAbi(c.op))],
      })) as Hex
      step = 'validateSignatures'
      const validationGas = await this.client.estimateContractGas({
        address: aggregator,
        abi,
        functionName: 'validateSignatures',
        args: [ops.map((c) => this.ep.toAbi(bundledOp(c))), signature],
      })
      const group: OpGroup = { aggregator, ops, signature, validationGas }
      this.known.set(key, group)
      return group
    } catch (err) {
      const revert = extractRevertData(err)
      if (revert === undefined && !/revert/i.test(String((err as Error)?.message ?? err))) throw err
      const why = revert === undefined ? 'reverted' : describeRevert(decodeRevert(revert))
      const reason = `aggregator ${aggregator}: ${step} failed (${why})`
      for (const c of ops) this.recorder.reject(c, reason, false)
      this.recorder.penalise({ kind: 'aggregator', address: aggregator }, 'staked_invalidation')
      this.known.set(key, 'failed')
      return undefined
    }
  }
}
