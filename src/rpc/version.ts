import { createRequire } from 'node:module'

// package.json sits two levels up from both src/rpc and a compiled dist/rpc.
const pkg = createRequire(import.meta.url)('../../package.json') as { version?: string }

/** web3_clientVersion: `conveyor/<package version>`. */
export const CLIENT_VERSION = `conveyor/${pkg.version ?? 'unknown'}`
