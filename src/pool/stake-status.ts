import { type Address, getAddress, type PublicClient } from 'viem'
import type { EntryPointModule } from '../chain/entrypoint/types.js'
import type { PoolSettings } from './settings.js'
import type { StakeStatus } from './types.js'

/** debug_bundler_getStakeStatus: the EntryPoint's deposit info against the configured stake floor. */
export async function readStakeStatus(
  client: PublicClient,
  ep: { address: Address; module: EntryPointModule },
  address: Address,
  s: PoolSettings,
): Promise<StakeStatus> {
  const info = (await client.readContract({
    address: ep.address,
    abi: ep.module.abi,
    functionName: 'getDepositInfo',
    args: [address],
  })) as { staked: boolean; stake: bigint; unstakeDelaySec: number | bigint }
  const unstakeDelaySec = BigInt(info.unstakeDelaySec)
  return {
    stakeInfo: { addr: getAddress(address), stake: info.stake, unstakeDelaySec },
    isStaked: info.staked && info.stake >= s.minStakeValue && unstakeDelaySec >= s.minUnstakeDelaySec,
  }
}
