import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NETWORK_NAMES, NETWORKS, OP_GAS_PRICE_ORACLE } from '../src/chain/chain-spec.js'
import { ChainSpecError, resolveChainSpec } from '../src/chain/chain-spec-file.js'
import { FeeEstimator } from '../src/chain/fees.js'
import { helpText } from '../src/config/index.js'
import { startTestChain, type TestChain } from './harness/chain.js'
import { conveyor } from './support/conveyor-process.js'

const dir = mkdtempSync(join(tmpdir(), 'conveyor-chain-spec-'))
function file(name: string, text: string): string {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

describe('network presets', () => {
  it('names every network the issue lists, with its chain id and L1 fee oracle', () => {
    expect(NETWORK_NAMES).toEqual([
      'ethereum',
      'sepolia',
      'base',
      'base_sepolia',
      'optimism',
      'optimism_sepolia',
      'arbitrum',
      'arbitrum_sepolia',
      'polygon',
      'polygon_amoy',
      'dev',
    ])
    expect(NETWORKS.base.chainId).toBe(8453)
    expect(NETWORKS.base.da).toMatchObject({
      oracle: 'optimism_bedrock',
      inPreVerificationGas: true,
      inGasLimit: false,
    })
    expect(NETWORKS.arbitrum.da).toMatchObject({
      oracle: 'arbitrum_nitro',
      inPreVerificationGas: true,
      inGasLimit: true,
    })
    expect(NETWORKS.ethereum.da.oracle).toBe('none')
    expect(NETWORKS.dev.chainId).toBe(31337)
  })

  it('fees per network: market tips with a floor on OP stack and Polygon, none needed on Arbitrum', () => {
    const client = {} as never
    const base = new FeeEstimator({ client, chainSpec: NETWORKS.base })
    expect(base.source.kind).toBe('fee_history')
    expect(base.minPriorityFeePerGas).toBeGreaterThan(0n)
    const polygon = new FeeEstimator({ client, chainSpec: NETWORKS.polygon })
    expect(polygon.source.kind).toBe('fee_history')
    expect(polygon.minPriorityFeePerGas).toBe(30_000_000_000n)
    const arbitrum = new FeeEstimator({ client, chainSpec: NETWORKS.arbitrum })
    expect(arbitrum.source.kind).toBe('floor')
    expect(arbitrum.minPriorityFeePerGas).toBe(0n)
  })

  it('--help lists the networks', () => {
    const help = helpText('test')
    for (const n of NETWORK_NAMES) expect(help).toContain(n)
    expect(help).toContain('--network')
    expect(help).toContain('--chain_spec')
  })
})

describe('chain spec files (Rundler field names)', () => {
  it('a TOML file overrides the preset it names as base, field by field', () => {
    const path = file(
      'op.toml',
      [
        'base = "dev"',
        'da_pre_verification_gas = true',
        'da_gas_oracle_type = "OPTIMISM_BEDROCK"',
        `da_gas_oracle_contract_address = "${OP_GAS_PRICE_ORACLE.toLowerCase()}"`,
        'min_max_priority_fee_per_gas = "0x0F4240"',
        'bundle_max_send_interval_millis = 500',
        'priority_fee_oracle_type = "USAGE_BASED"',
        'eip7623_enabled = false',
        'block_gas_limit = 60000000',
        'max_transaction_size_bytes = 120000',
      ].join('\n'),
    )
    const spec = resolveChainSpec({ file: path }, 31337)
    expect(spec.name).toBe('dev')
    expect(spec.da).toEqual({
      oracle: 'optimism_bedrock',
      address: OP_GAS_PRICE_ORACLE,
      inPreVerificationGas: true,
      inGasLimit: false,
    })
    expect(spec.minPriorityFeePerGas).toBe(1_000_000n)
    expect(spec.bundleMaxSendIntervalMillis).toBe(500)
    expect(spec.priorityFeeOracle).toBe('usage_based')
    expect(spec.eip7623.enabled).toBe(false)
    expect(spec.blockGasLimit).toBe(60_000_000n)
    expect(spec.maxTransactionSizeBytes).toBe(120_000)
    // the preset itself is untouched
    expect(NETWORKS.dev.da.oracle).toBe('none')
  })

  it('a JSON file over --network', () => {
    const path = file(
      'arb.json',
      JSON.stringify({ include_da_gas_in_gas_limit: false, min_max_priority_fee_per_gas: 7 }),
    )
    const spec = resolveChainSpec({ network: 'arbitrum', file: path }, 42161)
    expect(spec.da.inGasLimit).toBe(false)
    expect(spec.minPriorityFeePerGas).toBe(7n)
    expect(spec.da.oracle).toBe('arbitrum_nitro')
  })

  it('refuses unknown fields, bad values, unknown networks and a chain id other than the node’s', () => {
    const typo = file('typo.toml', 'da_gas_oracle_typ = "NONE"')
    expect(() => resolveChainSpec({ file: typo }, 31337)).toThrow(
      /unknown chain spec field da_gas_oracle_typ/,
    )
    const bad = file('bad.toml', 'da_gas_oracle_type = "ZKSYNC"')
    expect(() => resolveChainSpec({ file: bad }, 31337)).toThrow(/da_gas_oracle_type must be one of/)
    const broken = file('broken.toml', 'id = ')
    expect(() => resolveChainSpec({ file: broken }, 31337)).toThrow(ChainSpecError)
    const noOracle = file('no-oracle.toml', 'da_pre_verification_gas = true')
    expect(() => resolveChainSpec({ file: noOracle }, 31337)).toThrow(/needs a da_gas_oracle_type/)
    expect(() => resolveChainSpec({ network: 'basee' }, 8453)).toThrow(/unknown network basee/)
    const otherId = file('id.toml', 'id = 10')
    expect(() => resolveChainSpec({ file: otherId }, 31337)).toThrow(/chain 10 .*chain id 31337/)
  })
})

describe('start-up against a node of another chain', () => {
  let chain: TestChain
  beforeAll(async () => {
    chain = await startTestChain()
  }, 60_000)
  afterAll(async () => {
    await chain?.stop()
  })

  it('`conveyor node --network base` against chain 31337 refuses to start, naming both ids', async () => {
    const run = conveyor([
      'node',
      `--node_http=${chain.url}`,
      '--network=base',
      `--signer.private_keys=0x${'11'.repeat(32)}`,
      '--rpc.port=0',
      '--metrics=false',
    ])
    const { code } = await run.exited(30_000)
    expect(code).not.toBe(0)
    expect(run.stderr()).toMatch(/--network base is chain 8453 but the node reports chain id 31337/)
    expect(run.stdout()).not.toContain('"event":"ready"')
  }, 40_000)
})
