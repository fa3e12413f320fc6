import { Gauge, type Registry } from 'prom-client'
import { type Address, formatEther, type PublicClient } from 'viem'
import type { Logger } from '../../util/log.js'

export interface BalanceMonitorOptions {
  registry: Registry
  logger: Logger
}

/**
 * Funding visibility: each signer's balance as a gauge, and a gate a sender asks before proposing.
 * The gate logs once when a signer becomes unable to pay and once when it is funded again.
 */
export class BalanceMonitor {
  private readonly balances = new Map<Address, bigint>()
  private readonly unfunded = new Set<Address>()
  private readonly balanceGauge: Gauge<'address'>
  private readonly fundedGauge: Gauge<'address'>

  constructor(private readonly opts: BalanceMonitorOptions) {
    this.balanceGauge = new Gauge({
      name: 'conveyor_signer_balance_wei',
      help: 'Native balance of each bundle signer, in wei',
      labelNames: ['address'],
      registers: [opts.registry],
    })
    this.fundedGauge = new Gauge({
      name: 'conveyor_signer_funded',
      help: '1 when the signer can pay its next bundle, 0 when it stopped proposing for lack of funds',
      labelNames: ['address'],
      registers: [opts.registry],
    })
  }

  /** From a new head's address updates, or any other fresh read. */
  record(address: Address, balance: bigint): void {
    this.balances.set(address, balance)
    // Gauges are doubles: exact up to 2^53 wei; the exact figure stays in balanceOf().
    this.balanceGauge.set({ address }, Number(balance))
  }

  async refresh(client: Pick<PublicClient, 'getBalance'>, addresses: readonly Address[]): Promise<void> {
    await Promise.all(addresses.map(async (a) => this.record(a, await client.getBalance({ address: a }))))
  }

  balanceOf(address: Address): bigint | undefined {
    return this.balances.get(address)
  }

  /**
   * Whether the signer can pay a bundle costing up to maxCost (gas limit × max fee per gas).
   * An unknown balance counts as unfunded: better skip a round than send what cannot be paid.
   */
  canAfford(address: Address, maxCost: bigint): boolean {
    const balance = this.balances.get(address)
    const ok = balance !== undefined && balance >= maxCost
    const wasUnfunded = this.unfunded.has(address)
    if (!ok && !wasUnfunded) {
      this.unfunded.add(address)
      this.opts.logger.warn(
        {
          address,
          balanceWei: balance?.toString(),
          balanceEth: balance === undefined ? undefined : formatEther(balance),
          requiredWei: maxCost.toString(),
        },
        'signer cannot pay its next bundle: sender stops proposing until funded',
      )
    } else if (ok && wasUnfunded) {
      this.unfunded.delete(address)
      this.opts.logger.info(
        { address, balanceWei: balance?.toString() },
        'signer funded again: sender resumes proposing',
      )
    }
    this.fundedGauge.set({ address }, ok ? 1 : 0)
    return ok
  }
}
