import { createRequire } from 'node:module'

export function conveyorVersion(): string {
  const pkg = createRequire(import.meta.url)('../../package.json') as { version: string }
  return pkg.version
}
