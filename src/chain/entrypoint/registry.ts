import { type Address, getAddress } from 'viem'
import { ENTRY_POINT_VERSIONS, ENTRY_POINTS, type EntryPointVersion } from '../entrypoint.js'
import type { EntryPointModule } from './types.js'
import { entryPointV06 } from './v06.js'
import { entryPointV07 } from './v07.js'
import { entryPointV08 } from './v08.js'
import { entryPointV09 } from './v09.js'

/** How to build each version's module for an EntryPoint at a given address. */
export const ENTRY_POINT_MODULES: Record<EntryPointVersion, (address: Address) => EntryPointModule> = {
  'v0.6': entryPointV06,
  'v0.7': entryPointV07,
  'v0.8': entryPointV08,
  'v0.9': entryPointV09,
}

/**
 * EntryPoint modules by address. Callers that hold an EntryPoint address ask here for what its
 * version does (hash, shape, simulation, gas) instead of testing the version themselves.
 */
export class EntryPointRegistry {
  private readonly byAddress = new Map<string, EntryPointModule>()

  constructor(modules: readonly EntryPointModule[]) {
    for (const m of modules) this.byAddress.set(m.address.toLowerCase(), m)
  }

  /** The module of the EntryPoint at `address`, or undefined when Conveyor does not know it. */
  get(address: Address): EntryPointModule | undefined {
    return this.byAddress.get(address.toLowerCase())
  }

  all(): EntryPointModule[] {
    return [...this.byAddress.values()]
  }
}

/** The four EntryPoints at their canonical addresses. */
export const CANONICAL_ENTRY_POINTS = new EntryPointRegistry(
  ENTRY_POINT_VERSIONS.map((v) => ENTRY_POINT_MODULES[v](getAddress(ENTRY_POINTS[v].address))),
)

/** The module of a canonical EntryPoint, or undefined. */
export function entryPointFor(address: Address): EntryPointModule | undefined {
  return CANONICAL_ENTRY_POINTS.get(address)
}

/** The module of a canonical EntryPoint of this version. */
export function entryPointOfVersion(version: EntryPointVersion): EntryPointModule {
  return CANONICAL_ENTRY_POINTS.get(ENTRY_POINTS[version].address) as EntryPointModule
}
