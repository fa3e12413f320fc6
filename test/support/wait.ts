/**
 * Waits for a condition by polling it, with a generous deadline: the deadline is a hang guard, not
 * an assertion about speed, so a busy machine only makes the test slower, not flaky.
 */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  what: string,
  opts: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000)
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 20))
  }
}

/** Consumes an async iterable in the background into `items`; `done` settles when it ends. */
export function collect<T>(iterable: AsyncIterable<T>): { items: T[]; done: Promise<void> } {
  const items: T[] = []
  const done = (async () => {
    for await (const item of iterable) items.push(item)
  })()
  return { items, done }
}
