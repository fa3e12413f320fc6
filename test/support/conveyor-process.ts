import { type ChildProcess, spawn } from 'node:child_process'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = resolve(fileURLToPath(import.meta.url), '../../..')
export const BIN = join(ROOT, 'bin', 'conveyor.mjs')

/** The parent's environment without CONVEYOR_* variables, which would change what is tested. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CONVEYOR_')))
  return { ...env, ...extra }
}

export interface Run {
  child: ChildProcess
  stdout: () => string
  stderr: () => string
  /** Resolves with the parsed ready line, or rejects after `timeoutMs` or if the process exits. */
  ready(timeoutMs: number): Promise<Record<string, unknown>>
  exited(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

export function conveyor(args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(
    process.execPath,
    [...(process.env.CONVEYOR_CHILD_NODE_ARGS?.split(' ') ?? []), BIN, ...args],
    { cwd: ROOT, env: cleanEnv(env), stdio: 'pipe' },
  )
  let out = ''
  let err = ''
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString()
  })
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString()
  })
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.once('exit', (code, signal) => res({ code, signal })),
  )
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    ready: (timeoutMs) =>
      new Promise((res, rej) => {
        const timer = setTimeout(
          () => rej(new Error(`no ready line in ${timeoutMs} ms; stderr: ${err}`)),
          timeoutMs,
        )
        const check = () => {
          const line = out.split('\n').find((l) => l.startsWith('{"event":"ready"'))
          if (line) {
            clearTimeout(timer)
            res(JSON.parse(line) as Record<string, unknown>)
          }
        }
        child.stdout.on('data', check)
        void exit.then(({ code }) => {
          clearTimeout(timer)
          rej(new Error(`exited with ${code} before ready; stderr: ${err}`))
        })
        check()
      }),
    exited: (timeoutMs) =>
      Promise.race([
        exit,
        new Promise<never>((_, rej) =>
          setTimeout(() => rej(new Error(`still running after ${timeoutMs} ms`)), timeoutMs),
        ),
      ]),
  }
}
