import type { IncomingMessage } from 'node:http'

export type BodyResult =
  | { ok: true; body: string }
  /**
   * Over the limit. `drained`: the whole body was read (and dropped), so the connection is in a
   * clean state and the client will read our answer; otherwise it exceeded even the drain cap.
   */
  | { ok: false; reason: 'too_large'; drained: boolean }
  | { ok: false; reason: 'aborted' }

/**
 * Reads a request body of at most `maxBytes`. A larger body is still read to its end (up to
 * `drainCapBytes`) so the client, which is usually still sending, receives a JSON-RPC error
 * instead of a reset connection.
 */
export function readBody(req: IncomingMessage, maxBytes: number, drainCapBytes: number): Promise<BodyResult> {
  return new Promise((resolve) => {
    let settled = false
    const settle = (r: BodyResult) => {
      if (settled) return
      settled = true
      resolve(r)
    }
    const declared = Number(req.headers['content-length'])
    if (Number.isFinite(declared) && declared > drainCapBytes) {
      settle({ ok: false, reason: 'too_large', drained: false })
      return
    }
    const chunks: Buffer[] = []
    let size = 0
    let tooLarge = false
    req.on('data', (chunk: Buffer) => {
      if (settled) return
      size += chunk.length
      if (size > drainCapBytes) {
        settle({ ok: false, reason: 'too_large', drained: false })
        return
      }
      if (size > maxBytes) {
        tooLarge = true
        chunks.length = 0
      } else if (!tooLarge) chunks.push(chunk)
    })
    req.on('end', () =>
      settle(
        tooLarge
          ? { ok: false, reason: 'too_large', drained: true }
          : { ok: true, body: Buffer.concat(chunks).toString('utf8') },
      ),
    )
    req.on('error', () => settle({ ok: false, reason: 'aborted' }))
    req.on('close', () => settle({ ok: false, reason: 'aborted' }))
  })
}
