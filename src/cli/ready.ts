import type { Address } from 'viem'
import type { EntryPointVersion } from '../chain/entrypoint.js'

export interface ReadyInfo {
  mode: 'dev' | 'node' | 'rpc' | 'builder'
  rpcUrl?: string
  /** The metrics and admin server (status page at /), unless --metrics=false. */
  adminUrl?: string
  nodeUrl: string
  chainId: number
  entryPoints: Partial<Record<EntryPointVersion, Address>>
  factories?: Partial<Record<EntryPointVersion, Address>>
  /** dev: the Simple7702Account implementations (EIP-7702 delegates) per EntryPoint version. */
  delegates?: Partial<Record<EntryPointVersion, Address>>
  signers: Address[]
  /** Seconds between blocks of the embedded chain (dev only). */
  blockTime?: number
}

/** The one machine-readable line on stdout; key order is part of the format. */
export function readyLine(info: ReadyInfo): string {
  return JSON.stringify({
    event: 'ready',
    rpcUrl: info.rpcUrl,
    nodeUrl: info.nodeUrl,
    chainId: info.chainId,
    entryPoints: info.entryPoints,
    factories: info.factories,
    ...(info.delegates ? { simple7702Accounts: info.delegates } : {}),
    adminUrl: info.adminUrl,
  })
}

export function banner(info: ReadyInfo, version: string): string {
  const chain =
    info.blockTime === undefined
      ? `chain id ${info.chainId}`
      : `chain id ${info.chainId}, ${info.blockTime === 0 ? 'automine' : `a block every ${info.blockTime} s`}`
  const lines = [
    `Conveyor ${version} ready (${info.mode})`,
    `  node        ${info.nodeUrl} (${chain})`,
    `  bundler RPC ${info.rpcUrl ?? '(not started)'}`,
    `  status page ${info.adminUrl ? `${info.adminUrl}/  (metrics at ${info.adminUrl}/metrics)` : '(off: --metrics=false)'}`,
  ]
  for (const [version, address] of Object.entries(info.entryPoints)) {
    const factory = info.factories?.[version as EntryPointVersion]
    const delegate = info.delegates?.[version as EntryPointVersion]
    lines.push(
      `  EntryPoint ${version} ${address}${factory ? `  factory ${factory}` : ''}${delegate ? `  Simple7702Account ${delegate}` : ''}`,
    )
  }
  if (info.signers.length > 0) lines.push(`  signers     ${info.signers.join(', ')}`)
  return `${lines.join('\n')}\n`
}
