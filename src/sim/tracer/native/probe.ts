import type { Address, Hex, PublicClient } from 'viem'
import { callSimulation, type SimulationCall } from '../../sim-call.js'
import { nodeSaid } from '../probe.js'
import { fetchPrestate, SIMULATION_SENDER, sameOutcome } from './node-calls.js'
import { blockContext, ReplayEngine, type ReplayRules } from './replay.js'

export type NativeSupport =
  | { ok: true; engine: ReplayEngine; hardfork: string; rules: ReplayRules }
  | { ok: false; reason: string }

/** Hardforks the replay can run, newest first: the first that reproduces the node is taken. */
export const REPLAY_HARDFORKS = ['osaka', 'prague', 'cancun'] as const

/**
 * Code whose result depends on the hardfork's precompiles and gas, and on the pre-state and the
 * state override being honoured: SLOAD slot 0 (set by the override), STATICCALL 0x0b (BLS12 G1ADD
 * from Prague on: empty input fails and burns the call's gas; before, an empty account) and 0x100
 * (P256VERIFY from Osaka on; before, an empty account), then GAS; it returns the four words.
 */
const PROBE_CODE: Hex = `0x${[
  '600054600052',
  '60006000600060006000600b612710fa602052',
  '6000600060006000610100612710fa604052',
  '5a606052',
  '60806000f3',
].join('')}`
const PROBE_ADDRESS: Address = '0x00000000000000000000000000000000c0def00e'
const PROBE_SLOT_VALUE: Hex = `0x${'00'.repeat(31)}2a`

/**
 * Start-up check of the native path on this node: debug_traceCall with `prestateTracer` must
 * answer, and an in-process replay over that pre-state must reproduce the node's own eth_call of
 * the probe. Tries each hardfork the replay knows, newest first, and keeps the one that agrees.
 */
export async function probeNativeSupport(client: PublicClient, chainId?: number): Promise<NativeSupport> {
  try {
    const chain = chainId ?? (await client.getChainId())
    const blockNumber = await client.getBlockNumber({ cacheTime: 0 })
    const block = await client.getBlock({ blockNumber })
    const call: SimulationCall = {
      entryPoint: PROBE_ADDRESS,
      version: 'v0.7',
      data: '0x',
      blockNumber,
      stateOverride: {
        [PROBE_ADDRESS]: { code: PROBE_CODE, state: { [`0x${'00'.repeat(32)}`]: PROBE_SLOT_VALUE } },
      },
      from: SIMULATION_SENDER,
      gas: 1_000_000n,
    }
    const [prestate, node] = await Promise.all([fetchPrestate(client, call), callSimulation(client, call)])
    if (!prestate || typeof prestate !== 'object')
      return { ok: false, reason: `prestateTracer answered ${JSON.stringify(prestate)}` }
    const context = blockContext(block)
    const replayCall = { from: SIMULATION_SENDER, to: PROBE_ADDRESS, data: '0x' as Hex, gas: 1_000_000n }
    for (const hardfork of REPLAY_HARDFORKS) {
      const rules = { chainId: chain, hardfork }
      const engine = await ReplayEngine.create(rules)
      const r = await engine.outcome({ ...replayCall, stateOverride: call.stateOverride }, prestate, context)
      if (r.error === null && sameOutcome(node, { ok: true, data: r.output }))
        return { ok: true, engine, hardfork, rules }
    }
    return {
      ok: false,
      reason: `no hardfork the replay knows (${REPLAY_HARDFORKS.join(', ')}) reproduces the node's result ${node.ok ? node.data : `revert ${node.revert}`}`,
    }
  } catch (err) {
    return { ok: false, reason: nodeSaid(err) }
  }
}
