import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Abi, Hex } from 'viem'

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'contracts', 'artifacts')

/** An artifact of the project's own test contracts (contracts/src, built by `npm run contracts`). */
export function testArtifact(name: string): { abi: Abi; bytecode: Hex; deployedBytecode: Hex } {
  return JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8'))
}
