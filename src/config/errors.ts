/** A configuration that cannot start: one message, one line per problem, never a secret value. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.length === 1 ? problems[0] : `invalid configuration:\n  ${problems.join('\n  ')}`)
    this.name = 'ConfigError'
  }
}
