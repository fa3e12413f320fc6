export { CANONICAL_ENTRY_POINTS, EntryPointRegistry, entryPointFor, entryPointOfVersion } from './registry.js'
export type * from './types.js'
