import { Writable } from 'node:stream'
import pino, { type Logger } from 'pino'

/** A pino logger whose lines land, parsed, in `lines` (for asserting what was logged). */
export function captureLog<T extends { level: number; msg: string }>(
  level = 'info',
): { lines: T[]; logger: Logger } {
  const lines: T[] = []
  const logger = pino(
    { level },
    new Writable({
      write(chunk, _enc, cb) {
        for (const line of String(chunk).split('\n')) if (line.trim()) lines.push(JSON.parse(line) as T)
        cb()
      },
    }),
  )
  return { lines, logger }
}
