/**
 * Retries a call whose repetition is harmless (a status read, a cancellation of the same hash),
 * only while `retryable` says the failure was the transport's. Bounded attempts, short backoff.
 */
export async function retrySafe<T>(
  call: () => Promise<T>,
  retryable: (err: unknown) => boolean,
  opts: { attempts: number; backoffMs?: number },
): Promise<T> {
  let lastErr: unknown
  for (let attempt = 1; attempt <= opts.attempts; attempt++) {
    try {
      return await call()
    } catch (err) {
      lastErr = err
      if (attempt === opts.attempts || !retryable(err)) break
      await new Promise((r) => setTimeout(r, (opts.backoffMs ?? 100) * attempt))
    }
  }
  throw lastErr
}
