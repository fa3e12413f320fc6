/** A method handler gets the raw `params` (validated by the handler itself) and returns JSON data. */
export type MethodHandler = (params: unknown) => Promise<unknown>

export interface RegisterOptions {
  /** Only served when debug methods are enabled; otherwise the method does not exist (-32601). */
  debug?: boolean
}

/**
 * The methods a server answers. Debug methods are registered always and gated at lookup, so the
 * builder can add its own (debug_bundler_sendBundleNow, …) without knowing whether debug is on.
 */
export class MethodTable {
  private readonly methods = new Map<string, { handler: MethodHandler; debug: boolean }>()

  constructor(private readonly enableDebug: boolean) {}

  register(name: string, handler: MethodHandler, opts: RegisterOptions = {}): void {
    if (this.methods.has(name)) throw new Error(`RPC method ${name} is already registered`)
    this.methods.set(name, { handler, debug: opts.debug ?? false })
  }

  /** The handler, or undefined when the method is unknown or a disabled debug method. */
  lookup(name: string): MethodHandler | undefined {
    const m = this.methods.get(name)
    if (!m || (m.debug && !this.enableDebug)) return undefined
    return m.handler
  }

  /** Names served right now, sorted (for logs and tests). */
  names(): string[] {
    return [...this.methods.entries()]
      .filter(([, m]) => !m.debug || this.enableDebug)
      .map(([n]) => n)
      .sort()
  }
}
