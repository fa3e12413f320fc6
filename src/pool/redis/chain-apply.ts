import { type Hash, zeroAddress } from 'viem'
import type { Logger } from '../../util/log.js'
import type { BlockHeader } from '../chain-history.js'
import type { MinedOpEvent } from '../mined-ops.js'
import type { MinedOpInfo } from '../types.js'
import { decodeMinedOp, decodePoolOp, encodeMinedOp } from './codec.js'
import { k, nonceField } from './keys.js'
import type { EntryPointStore } from './store.js'

type ApplyReply = 'OK' | 'DUP' | 'CONFLICT' | 'STALE'

/**
 * Applies a block to one EntryPoint's pool in Redis exactly once. Every process follows the chain
 * (its builders need the new heads), so several apply the same block: the script's watermark makes
 * all but the first a no-op. When Redis holds another branch at this height (a reorg another process
 * has not undone, or one seen first here), that branch is unwound from Redis's own undo records first.
 * Returns true when this call applied the block.
 */
export async function applyBlock(
  store: EntryPointStore,
  header: BlockHeader,
  mined: MinedOpEvent[],
  window: number,
  log: Logger,
): Promise<boolean> {
  const args = [
    header.number.toString(),
    header.hash.toLowerCase(),
    header.parentHash.toLowerCase(),
    (header.baseFeePerGas ?? 0n).toString(),
    window,
    JSON.stringify(mined.map(minedArg)),
  ]
  for (let attempt = 0; attempt < 2; attempt++) {
    const reply = (await store.run('conveyorPoolApplyBlock', ...args)) as ApplyReply
    if (reply === 'OK') {
      await store.finishBaseFee() // the script moved the first ops to the new base fee's groups
      return true
    }
    if (reply === 'DUP') return false
    log.info(
      { block: header.number, hash: header.hash, reply },
      'redis pool: another branch applied, unwinding it',
    )
    await unwindOtherBranch(store, header, window)
  }
  throw new Error(`block ${header.number} ${header.hash} could not be applied over the branch in Redis`)
}

/** Undoes a block this process saw leave the chain (a no-op when Redis does not hold it at its tip). */
export async function unwindBlock(store: EntryPointStore, header: BlockHeader): Promise<boolean> {
  const reply = await store.run(
    'conveyorPoolUnwindBlock',
    header.number.toString(),
    header.hash.toLowerCase(),
  )
  return reply === 'OK'
}

/** The applied watermark: block number → hash (the last `window` blocks). */
export async function appliedBlocks(store: EntryPointStore): Promise<Map<bigint, Hash>> {
  const all = await store.redis.hgetall(k.blocks(store.prefix))
  return new Map(Object.entries(all).map(([n, h]) => [BigInt(n), h as Hash]))
}

export async function minedOp(store: EntryPointStore, hash: string): Promise<MinedOpInfo | undefined> {
  const h = hash.toLowerCase()
  const [info, op] = await Promise.all([
    store.redis.hget(k.mined(store.prefix), h),
    store.redis.hget(k.minedOp(store.prefix), h),
  ])
  if (!info) return undefined
  const m = decodeMinedOp(info)
  if (!m.op && op) m.op = decodePoolOp(op, 0).op
  return m.op ? m : undefined
}

export async function isMined(store: EntryPointStore, hash: string): Promise<boolean> {
  return (await store.redis.hexists(k.mined(store.prefix), hash.toLowerCase())) === 1
}

/** Unwinds Redis's newest blocks until the block below `header` is its parent (or nothing is left). */
async function unwindOtherBranch(store: EntryPointStore, header: BlockHeader, window: number): Promise<void> {
  for (let i = 0; i <= window; i++) {
    const blocks = await appliedBlocks(store)
    if (blocks.size === 0) return
    // biome-ignore lint/complexity/useMathMinMax: Math.max does not take bigint
    const tip = [...blocks.keys()].reduce((a, b) => (b > a ? b : a))
    const below = blocks.get(header.number - 1n)
    const onOurBranch =
      tip < header.number && (below === undefined || below === header.parentHash.toLowerCase())
    if (onOurBranch) return
    await store.run('conveyorPoolUnwindBlock', tip.toString(), blocks.get(tip) as string)
  }
}

function minedArg(m: MinedOpEvent) {
  return {
    h: m.hash.toLowerCase(),
    s: m.sender.toLowerCase(),
    n: nonceField(m.nonce),
    pm: m.paymaster && m.paymaster !== zeroAddress ? m.paymaster.toLowerCase() : '',
    // The factory, from the bundle's calldata: an op the builder already removed still credits it.
    f: m.op?.factory?.toLowerCase() ?? '',
    info: encodeMinedOp(m),
    hasOp: m.op !== undefined,
  }
}
