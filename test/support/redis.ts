import { type ChildProcess, spawn } from 'node:child_process'
import { createServer, Socket } from 'node:net'
import { onProcessExit } from '../../src/util/exit.js'

export interface RedisNode {
  url: string
  port: number
  /** SIGKILL the server (the data is not persisted). */
  stop(): Promise<void>
  /** Start an empty server again on the same port. */
  restart(): Promise<void>
  readonly running: boolean
}

const REDIS_BIN = process.env.REDIS_SERVER_BIN ?? '/usr/bin/redis-server'

// Same guard as the anvil helper: the shell holds our stdin pipe; when this process dies in any way
// (even SIGKILL) the pipe closes, `read` returns and the guard kills redis-server.
const GUARD = `exec 3<&0
"$0" "$@" </dev/null 3<&- &
child=$!
( read -r _ <&3; kill -9 $child 2>/dev/null ) &
wait $child`

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = new Socket()
    const done = (ok: boolean) => {
      sock.destroy()
      resolve(ok)
    }
    sock.setTimeout(500, () => done(false))
    sock.once('error', () => done(false))
    sock.connect(port, '127.0.0.1', () => sock.write('PING\r\n'))
    sock.once('data', (d) => done(d.toString().startsWith('+PONG')))
  })
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return
  try {
    process.kill(-child.pid, 'SIGKILL')
  } catch {
    // already gone
  }
}

async function spawnRedis(port: number): Promise<{ child: ChildProcess; unregister: () => void }> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']
  args.push('--protected-mode', 'yes', '--loglevel', 'warning', '--daemonize', 'no')
  const child = spawn('/bin/sh', ['-c', GUARD, REDIS_BIN, ...args], {
    stdio: ['pipe', 'ignore', 'pipe'],
    detached: true,
  })
  const unregister = onProcessExit(() => killGroup(child))
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000)
  })
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break
    if (await ping(port)) {
      child.unref()
      for (const s of [child.stdin, child.stderr]) (s as unknown as { unref?: () => void } | null)?.unref?.()
      return { child, unregister }
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  killGroup(child)
  unregister()
  throw new Error(`redis-server on port ${port} did not start: ${stderr.slice(-500)}`)
}

/** A private redis-server on a free 127.0.0.1 port (never the system one on 6379). */
export async function startRedis(): Promise<RedisNode> {
  let lastErr: unknown
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort()
    try {
      let proc: { child: ChildProcess; unregister: () => void } | undefined = await spawnRedis(port)
      const stop = async () => {
        const p = proc
        proc = undefined
        if (!p) return
        p.unregister()
        await new Promise<void>((resolve) => {
          if (p.child.exitCode !== null || p.child.signalCode !== null) return resolve()
          p.child.ref()
          p.child.once('exit', () => resolve())
          killGroup(p.child)
        })
        // The guard shell exits when redis does; wait until the port no longer answers.
        for (let i = 0; i < 100 && (await ping(port)); i++) await new Promise((r) => setTimeout(r, 20))
      }
      return {
        url: `redis://127.0.0.1:${port}`,
        port,
        stop,
        async restart() {
          await stop()
          proc = await spawnRedis(port)
        },
        get running() {
          return proc !== undefined
        },
      }
    } catch (err) {
      lastErr = err // the port was taken between probing and binding: try another
    }
  }
  throw lastErr
}
