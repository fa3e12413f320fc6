import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { onProcessExit } from '../util/exit.js'

export interface AnvilOptions {
  /** 0 (default) lets the OS pick a free port; the started node reports the real one. */
  port?: number
  /** Seconds between blocks; 0 (default) means automine (a block per transaction). */
  blockTime?: number
  /** Mine only on `evm_mine`; overrides blockTime. */
  noMining?: boolean
  chainId?: number
  gasLimit?: bigint
  baseFee?: bigint
  extraArgs?: string[]
  /** Milliseconds to wait for the node to answer. */
  startTimeoutMs?: number
}

export interface AnvilNode {
  url: string
  port: number
  chainId: number
  stop(): Promise<void>
}

const PLATFORM_PACKAGES: Record<string, string> = {
  'linux-x64': '@foundry-rs/anvil-linux-amd64',
  'linux-arm64': '@foundry-rs/anvil-linux-arm64',
  'darwin-x64': '@foundry-rs/anvil-darwin-amd64',
  'darwin-arm64': '@foundry-rs/anvil-darwin-arm64',
  'win32-x64': '@foundry-rs/anvil-win32-amd64',
}

/** The platform binary itself: the package's `.bin/anvil` is a Node wrapper that can leak anvil. */
export function anvilBinaryPath(): string {
  const key = `${process.platform}-${process.arch}`
  const pkg = PLATFORM_PACKAGES[key]
  if (!pkg) throw new Error(`anvil is not shipped for ${key}`)
  const require = createRequire(import.meta.url)
  const pkgJson = require.resolve(`${pkg}/package.json`)
  const bin = join(dirname(pkgJson), 'bin', process.platform === 'win32' ? 'anvil.exe' : 'anvil')
  if (!existsSync(bin)) throw new Error(`anvil binary missing at ${bin}; run npm ci`)
  return bin
}

// The guard shell holds our stdin pipe; when this process dies in any way (even SIGKILL) the pipe
// closes, `read` returns and the guard kills anvil. Background lists get /dev/null as stdin, hence fd 3.
const GUARD = `exec 3<&0
"$0" "$@" </dev/null 3<&- &
child=$!
( read -r _ <&3; kill -9 $child 2>/dev/null ) &
wait $child`

export async function startAnvil(opts: AnvilOptions = {}): Promise<AnvilNode> {
  const args = ['--host', '127.0.0.1', '--port', String(opts.port ?? 0)]
  if (opts.chainId !== undefined) args.push('--chain-id', String(opts.chainId))
  if (opts.noMining) args.push('--no-mining')
  else if (opts.blockTime && opts.blockTime > 0) args.push('--block-time', String(opts.blockTime))
  if (opts.gasLimit !== undefined) args.push('--gas-limit', opts.gasLimit.toString())
  if (opts.baseFee !== undefined) args.push('--block-base-fee-per-gas', opts.baseFee.toString())
  args.push(...(opts.extraArgs ?? []))

  const child = spawn('/bin/sh', ['-c', GUARD, anvilBinaryPath(), ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  })
  const killGroup = () => killProcessGroup(child)
  const unregister = onProcessExit(killGroup)

  let output = ''
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`anvil did not start within ${opts.startTimeoutMs ?? 15000} ms: ${output.slice(-500)}`),
          ),
        opts.startTimeoutMs ?? 15_000,
      )
      const onData = (chunk: Buffer) => {
        output += chunk.toString()
        const m = /Listening on 127\.0\.0\.1:(\d+)/.exec(output)
        if (m) {
          clearTimeout(timer)
          resolve(Number(m[1]))
        }
      }
      child.stdout?.on('data', onData)
      child.stderr?.on('data', onData)
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`anvil exited with code ${code} before listening: ${output.slice(-500)}`))
      })
    })
    // Keep draining output so anvil never blocks on a full pipe.
    child.stdout?.removeAllListeners('data')
    child.stderr?.removeAllListeners('data')
    child.stdout?.resume()
    child.stderr?.resume()
    // Anvil must not keep this process alive; the stdin pipe stays open until we exit (the guard).
    child.unref()
    for (const stream of [child.stdin, child.stdout, child.stderr]) {
      ;(stream as unknown as { unref?: () => void } | null)?.unref?.()
    }
    const url = `http://127.0.0.1:${port}`
    const chainId = await waitUntilAnswering(url, opts.startTimeoutMs ?? 15_000)
    let stopped = false
    return {
      url,
      port,
      chainId,
      async stop() {
        if (stopped) return
        stopped = true
        unregister()
        await new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve()
          child.ref() // wait for the exit even though the child is otherwise unref'd
          child.once('exit', () => resolve())
          killGroup()
        })
      },
    }
  } catch (err) {
    unregister()
    killGroup()
    throw err
  }
}

function killProcessGroup(child: ChildProcess): void {
  if (child.pid === undefined) return
  try {
    process.kill(-child.pid, 'SIGKILL')
  } catch {
    // already gone
  }
}

async function waitUntilAnswering(url: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
        signal: AbortSignal.timeout(1000),
      })
      const body = (await res.json()) as { result?: string }
      if (body.result) return Number(BigInt(body.result))
    } catch (err) {
      lastError = err
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`anvil at ${url} did not answer: ${String(lastError)}`)
}
