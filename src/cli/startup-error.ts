/** Start-up failed for a reason the operator can fix; the message says which. */
export class StartupError extends Error {
  override name = 'StartupError'
}

/** A node URL fit for messages: providers often put an API key in the path or the userinfo. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url)
    return u.pathname === '/' && !u.search ? u.origin : `${u.origin}/…`
  } catch {
    return '(unparseable URL)'
  }
}
