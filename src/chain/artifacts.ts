import { createRequire } from 'node:module'
import type { Abi, Hex } from 'viem'

export interface Artifact {
  contractName: string
  abi: Abi
  bytecode: Hex
  deployedBytecode: Hex
}

const require = createRequire(import.meta.url)
const cache = new Map<string, Artifact>()

/** A compiled artifact shipped in an npm package (`aa-v07`, `aa-v08`: aliases of @account-abstraction/contracts). */
export function loadArtifact(pkg: string, name: string): Artifact {
  const key = `${pkg}/${name}`
  let artifact = cache.get(key)
  if (!artifact) {
    artifact = require(`${pkg}/artifacts/${name}.json`) as Artifact
    cache.set(key, artifact)
  }
  return artifact
}
