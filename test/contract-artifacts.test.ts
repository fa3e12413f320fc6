import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { V06_PROXY_ABI, V06_PROXY_CODE } from '../src/chain/entrypoint/v06-proxy.js'
import { SIMULATION_BATCH_ABI, SIMULATION_BATCH_CODE } from '../src/sim/simulation-batch.js'
import { testArtifact } from './support/contracts.js'

/**
 * The bundler carries the artifacts of its own never-deployed contracts in src/ (it must not read
 * contracts/ at run time). After `npm run contracts`, regenerate them with
 *   ARTIFACTS_WRITE=1 npx vitest run test/contract-artifacts.test.ts && npx biome format --write src
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'src')

const CARRIED = [
  {
    name: 'SimulationBatch',
    file: join(root, 'sim', 'simulation-batch.ts'),
    prefix: 'SIMULATION_BATCH',
    abi: SIMULATION_BATCH_ABI,
    code: SIMULATION_BATCH_CODE,
  },
  {
    name: 'EntryPointV06Proxy',
    file: join(root, 'chain', 'entrypoint', 'v06-proxy.ts'),
    prefix: 'V06_PROXY',
    abi: V06_PROXY_ABI,
    code: V06_PROXY_CODE,
  },
] as const

describe.each(CARRIED)('$name artifact in src/', ({ name, file, prefix, abi, code }) => {
  const artifact = testArtifact(name)

  it.runIf(process.env.ARTIFACTS_WRITE === '1')('is regenerated from contracts/artifacts', () => {
    const text = [
      `// Generated from contracts/artifacts/${name}.json (contracts/src/${name}.sol) by`,
      '// test/contract-artifacts.test.ts: do not edit; see there how to regenerate.',
      '',
      `export const ${prefix}_ABI = ${JSON.stringify(artifact.abi, null, 2)} as const`,
      '',
      '/** Runtime code, placed by state override (it is never deployed). */',
      `export const ${prefix}_CODE = '${artifact.deployedBytecode}' as const`,
      '',
    ].join('\n')
    writeFileSync(file, text)
    expect(readFileSync(file, 'utf8')).toBe(text)
  })

  it('matches the compiled contract (code and ABI)', () => {
    if (process.env.ARTIFACTS_WRITE === '1') return // the module was loaded before the rewrite
    expect(code).toBe(artifact.deployedBytecode)
    expect(JSON.parse(JSON.stringify(abi))).toEqual(artifact.abi)
  })
})
