// Synchronous clean-up hooks run when the process exits for any reason Node can observe
// (normal exit, process.exit, an uncaught exception). Signals are the CLI's job: it turns
// SIGINT/SIGTERM into an orderly shutdown that ends in process.exit.
const hooks = new Set<() => void>()
let installed = false

export function onProcessExit(hook: () => void): () => void {
  if (!installed) {
    installed = true
    process.on('exit', () => {
      for (const h of hooks) {
        try {
          h()
        } catch {
          // keep running the others
        }
      }
    })
  }
  hooks.add(hook)
  return () => {
    hooks.delete(hook)
  }
}
