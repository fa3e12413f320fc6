import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { SIMULATION_BATCH_ABI, SIMULATION_BATCH_CODE } from '../src/sim/simulation-batch.js'
import { testArtifact } from './support/contracts.js'

/**
 * src/sim/simulation-batch.ts carries the SimulationBatch artifact for the bundler (which must not
 * read contracts/ at run time). After `npm run contracts`, regenerate it with
 *   SIM_BATCH_WRITE=1 npx vitest run test/sim-batch-artifact.test.ts && npx biome format --write src/sim/simulation-batch.ts
 */
const target = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'sim', 'simulation-batch.ts')

describe('SimulationBatch artifact in src/', () => {
  const artifact = testArtifact('SimulationBatch')

  it.runIf(process.env.SIM_BATCH_WRITE === '1')('is regenerated from contracts/artifacts', () => {
    const text = [
      '// Generated from contracts/artifacts/SimulationBatch.json (contracts/src/SimulationBatch.sol) by',
      '// test/sim-batch-artifact.test.ts: do not edit; see there how to regenerate.',
      '',
      `export const SIMULATION_BATCH_ABI = ${JSON.stringify(artifact.abi, null, 2)} as const`,
      '',
      '/** Runtime code, placed by state override (it is never deployed). */',
      `export const SIMULATION_BATCH_CODE = '${artifact.deployedBytecode}' as const`,
      '',
    ].join('\n')
    writeFileSync(target, text)
    expect(readFileSync(target, 'utf8')).toBe(text)
  })

  it('matches the compiled contract (code and ABI)', () => {
    expect(SIMULATION_BATCH_CODE).toBe(artifact.deployedBytecode)
    expect(JSON.parse(JSON.stringify(SIMULATION_BATCH_ABI))).toEqual(artifact.abi)
  })
})
