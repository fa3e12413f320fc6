import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { GAS_PROBE_CODE, GAS_PROBE_SOLC, GAS_PROBE_SOURCE } from '../src/sim/gas-probe.js'

/** solc ships no type declarations: the two functions used here. */
const solc = createRequire(import.meta.url)('solc') as { version(): string; compile(input: string): string }

describe('gas probe bytecode', () => {
  it('is what solc makes of the shipped source', () => {
    expect(solc.version()).toContain(GAS_PROBE_SOLC.version)
    const input = {
      language: 'Solidity',
      sources: { 'GasProbe.sol': { content: GAS_PROBE_SOURCE } },
      settings: {
        optimizer: { enabled: true, runs: GAS_PROBE_SOLC.optimizerRuns },
        evmVersion: GAS_PROBE_SOLC.evmVersion,
        outputSelection: { '*': { '*': ['evm.deployedBytecode.object'] } },
      },
    }
    const out = JSON.parse(solc.compile(JSON.stringify(input)))
    expect(out.errors?.filter((e: { severity: string }) => e.severity === 'error') ?? []).toEqual([])
    expect(`0x${out.contracts['GasProbe.sol'].GasProbe.evm.deployedBytecode.object}`).toBe(GAS_PROBE_CODE)
  })
})
