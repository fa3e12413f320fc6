import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPublicClient, http } from 'viem'
import { privateKeyToAddress } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ENTRY_POINTS } from '../src/chain/entrypoint.js'
import { OPTIONS } from '../src/config/index.js'
import { type AnvilNode, startAnvil } from '../src/dev/anvil.js'
import { deployCanonical } from '../src/dev/deploy.js'
import { cleanEnv, conveyor, ROOT } from './support/conveyor-process.js'

const KEY = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d'
const MNEMONIC = 'test test test test test test test test test test test junk'

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const server = createServer()
    server.once('error', rej)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => res(port))
    })
  })
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      signal: AbortSignal.timeout(1000),
    })
    return res.ok
  } catch {
    return false
  }
}

function processes(): { pid: number; ppid: number; args: string }[] {
  return execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((l) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l))
    .filter((m) => m !== null)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), args: m[3]! }))
}

/** Live anvil processes started for `port` or below `rootPid` (zombies excluded: they are dead). */
function anvilsOf(rootPid: number, port: number): number[] {
  const all = processes()
  const below = new Set([rootPid])
  for (let grew = true; grew; ) {
    grew = false
    for (const p of all) {
      if (below.has(p.ppid) && !below.has(p.pid)) {
        below.add(p.pid)
        grew = true
      }
    }
  }
  return all
    .filter((p) => /anvil/.test(p.args) && !/<defunct>/.test(p.args))
    .filter(
      (p) => below.has(p.pid) || p.args.includes(`--port ${port} `) || p.args.endsWith(`--port ${port}`),
    )
    .map((p) => p.pid)
}

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return true
    await new Promise((r) => setTimeout(r, 100))
  }
  return check()
}

/** dev's RPC (3000) and admin (8080) ports are fixed by default; tests take free ones. */
const FREE_SERVER_PORTS = ['--rpc.port', '0', '--metrics.port', '0']

describe('conveyor dev', () => {
  it('prints one ready line naming a chain with all four EntryPoints and their factories; SIGINT stops it and its anvil', async () => {
    const chainPort = await freePort()
    const started = Date.now()
    const run = conveyor([
      'dev',
      '--rpc.port',
      '0',
      '--metrics.port',
      '0',
      '--dev.chain_port',
      String(chainPort),
    ])
    const ready = await run.ready(30_000)
    const elapsed = Date.now() - started
    console.log(`conveyor dev: ready line after ${elapsed} ms (target ≤ 5000 ms)`)

    expect(ready.event).toBe('ready')
    // rpcUrl is omitted until the app starts an RPC server; then it must be a local URL.
    if ('rpcUrl' in ready) expect(ready.rpcUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+/)
    expect(ready.nodeUrl).toBe(`http://127.0.0.1:${chainPort}`)
    expect(ready.entryPoints).toEqual({
      'v0.6': ENTRY_POINTS['v0.6'].address,
      'v0.7': ENTRY_POINTS['v0.7'].address,
      'v0.8': ENTRY_POINTS['v0.8'].address,
      'v0.9': ENTRY_POINTS['v0.9'].address,
    })
    expect(Object.keys(ready.factories as object)).toEqual(['v0.6', 'v0.7', 'v0.8', 'v0.9'])
    for (const address of Object.values(ready.factories as Record<string, `0x${string}`>)) {
      expect(
        (await createPublicClient({ transport: http(ready.nodeUrl as string) }).getCode({ address }))?.length,
      ).toBeGreaterThan(2)
    }
    const client = createPublicClient({ transport: http(ready.nodeUrl as string) })
    expect(await client.getChainId()).toBe(ready.chainId)
    for (const address of Object.values(ready.entryPoints as Record<string, `0x${string}`>)) {
      expect((await client.getCode({ address }))?.length ?? 0).toBeGreaterThan(1000)
    }
    // The default block time (1 s) is in force after deployment: blocks keep coming with no transactions.
    const first = await client.getBlockNumber()
    expect(await eventually(async () => (await client.getBlockNumber()) > first, 5000)).toBe(true)
    expect(anvilsOf(run.child.pid!, chainPort).length).toBeGreaterThan(0)

    run.child.kill('SIGINT')
    const { code } = await run.exited(15_000)
    expect(code).toBe(0)
    expect(await eventually(async () => !(await answers(ready.nodeUrl as string)), 5000)).toBe(true)
    expect(await eventually(() => anvilsOf(run.child.pid!, chainPort).length === 0, 5000)).toBe(true)

    const jsonLines = run
      .stdout()
      .split('\n')
      .filter((l) => l.trim().startsWith('{'))
    expect(jsonLines).toHaveLength(1)
    expect(run.stdout()).toContain('ready (dev)') // the human banner
    expect(run.stderr()).toContain('"msg":"shutting down"') // logs go to stderr
  })

  it('exits on SIGTERM, and at once on a second signal, leaving no anvil', async () => {
    const chainPort = await freePort()
    const run = conveyor([
      'dev',
      ...FREE_SERVER_PORTS,
      '--dev.chain_port',
      String(chainPort),
      '--dev.block_time=0.5',
    ])
    const ready = await run.ready(30_000)
    run.child.kill('SIGTERM')
    run.child.kill('SIGTERM')
    const { code } = await run.exited(15_000)
    expect([0, 143]).toContain(code)
    expect(await eventually(async () => !(await answers(ready.nodeUrl as string)), 5000)).toBe(true)
    expect(await eventually(() => anvilsOf(run.child.pid!, chainPort).length === 0, 5000)).toBe(true)
  })

  it('funds given signer keys on the embedded chain', async () => {
    const run = conveyor(['dev', ...FREE_SERVER_PORTS, '--dev.block_time=0'], {
      CONVEYOR_SIGNER__PRIVATE_KEYS: KEY,
      CONVEYOR_LOG__LEVEL: 'debug', // the effective configuration is logged, redacted
    })
    try {
      const ready = await run.ready(30_000)
      const client = createPublicClient({ transport: http(ready.nodeUrl as string) })
      expect(await client.getBalance({ address: privateKeyToAddress(KEY) })).toBe(1000n * 10n ** 18n)
      expect(run.stderr()).toContain('"private_keys":"[redacted]"')
      expect(run.stdout() + run.stderr()).not.toContain(KEY.slice(2))
    } finally {
      run.child.kill('SIGINT')
      await run.exited(15_000)
    }
  })
})

describe('bad options stop start-up', () => {
  it.each([
    ['--max_blocks_to_wait_for_mine=-1', '--max_blocks_to_wait_for_mine "-1"'],
    ['--priority_fee_mode_kind=bogus', '--priority_fee_mode_kind "bogus"'],
  ])('%s exits non-zero naming the option', async (flag, named) => {
    const run = conveyor(['dev', flag, `--signer.private_keys=${KEY}`])
    const { code } = await run.exited(15_000)
    expect(code).toBe(2)
    expect(run.stderr()).toContain(named)
    expect(run.stderr()).not.toContain(KEY.slice(2))
    expect(run.stdout()).toBe('')
  })

  it('an unknown command or environment variable is refused', async () => {
    const bogus = conveyor(['serve'])
    expect((await bogus.exited(15_000)).code).toBe(2)
    expect(bogus.stderr()).toContain('unknown command "serve"')
    const env = conveyor(['dev'], { CONVEYOR_RPC__PROT: '1' })
    expect((await env.exited(15_000)).code).toBe(2)
    expect(env.stderr()).toContain('unknown option CONVEYOR_RPC__PROT')
  })
})

describe('conveyor --help and --version', () => {
  it('--help lists every option with its default and shows no secret', async () => {
    const run = conveyor(['--help', `--signer.private_keys=${KEY}`], {
      CONVEYOR_SIGNER__MNEMONIC: MNEMONIC,
      CONVEYOR_BUILDER__BLOXROUTE_AUTH_HEADER: 'Bearer hunter2',
    })
    expect((await run.exited(15_000)).code).toBe(0)
    const help = run.stdout().replace(/\s+/g, ' ')
    for (const o of OPTIONS) {
      expect(help).toContain(`--${o.name}`)
      expect(help).toContain(o.env)
    }
    expect(help).toContain('--builder.max_blocks_to_wait_for_mine <an integer from 1 to 1000 (blocks)>')
    expect(help).toMatch(/--builder.max_bundle_size .*default: 128;/)
    expect(help.match(/default: /g)?.length).toBeGreaterThanOrEqual(OPTIONS.length)
    for (const secret of [KEY.slice(2), 'test test test', 'hunter2']) expect(help).not.toContain(secret)
  })

  it('--version prints the package version', async () => {
    const run = conveyor(['--version'])
    expect((await run.exited(15_000)).code).toBe(0)
    expect(run.stdout().trim()).toMatch(/^conveyor \d+\.\d+\.\d+/)
  })
})

describe('conveyor node', () => {
  let chain: AnvilNode
  beforeAll(async () => {
    chain = await startAnvil()
    await deployCanonical(chain.url)
  })
  afterAll(async () => {
    await chain?.stop()
  })

  it('checks the node, then reports ready; SIGINT exits 0', async () => {
    const run = conveyor(
      ['node', '--node_http', chain.url, '--chain_id', String(chain.chainId), '--num_signers=2'],
      {
        CONVEYOR_SIGNER__MNEMONIC: MNEMONIC,
      },
    )
    const ready = await run.ready(30_000)
    expect(ready).toMatchObject({ event: 'ready', nodeUrl: chain.url, chainId: chain.chainId })
    expect(ready.entryPoints).toEqual({
      'v0.6': ENTRY_POINTS['v0.6'].address,
      'v0.7': ENTRY_POINTS['v0.7'].address,
      'v0.8': ENTRY_POINTS['v0.8'].address,
      'v0.9': ENTRY_POINTS['v0.9'].address,
    })
    // The mnemonic's first two accounts (anvil's well-known dev accounts) sign.
    expect(run.stdout()).toContain(
      'signers     0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266, 0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    )
    expect(run.stdout() + run.stderr()).not.toContain('test test')
    run.child.kill('SIGINT')
    expect((await run.exited(15_000)).code).toBe(0)
    expect(await answers(chain.url)).toBe(true) // not ours to stop
  })

  it('refuses a node with another chain id, naming --chain_id', async () => {
    const run = conveyor(['node', `--node_http=${chain.url}`, '--chain_id=5', `--signer.private_keys=${KEY}`])
    expect((await run.exited(15_000)).code).toBe(1)
    expect(run.stderr()).toContain(
      `--chain_id is 5 but the node at ${chain.url} reports chain id ${chain.chainId}`,
    )
    expect(run.stderr()).not.toContain(KEY.slice(2))
  })

  it('refuses a node that does not answer, naming --node_http', async () => {
    const port = await freePort()
    const run = conveyor([
      'node',
      `--node_http=http://127.0.0.1:${port}/v2/apikey123`,
      `--signer.private_keys=${KEY}`,
    ])
    expect((await run.exited(20_000)).code).toBe(1)
    expect(run.stderr()).toContain(`the node at http://127.0.0.1:${port}/… (--node_http) does not answer`)
    expect(run.stderr()).not.toContain('apikey123')
  })
})

describe('process lifecycle', () => {
  it('survives an unhandled rejection; an uncaught exception cleans up and exits 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'conveyor-cli-'))
    const script = join(dir, 'lifecycle.mts')
    writeFileSync(
      script,
      `import { Lifecycle } from ${JSON.stringify(join(ROOT, 'src/cli/lifecycle.ts'))}
import { createLogger } from ${JSON.stringify(join(ROOT, 'src/util/log.ts'))}
const life = new Lifecycle(createLogger({ level: 'info' }))
life.install()
life.defer('marker', async () => { process.stdout.write('cleaned up\\n') })
void Promise.reject(new Error('lost promise'))
setTimeout(() => { process.stdout.write('still alive\\n'); throw new Error('boom') }, 300)
`,
    )
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: ROOT,
      env: cleanEnv(),
      stdio: 'pipe',
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
    })
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString()
    })
    const code = await new Promise<number | null>((res) => child.once('exit', res))
    expect(err).toContain('unhandled rejection (the process keeps running)')
    expect(out).toBe('still alive\ncleaned up\n')
    expect(err).toContain('uncaught exception')
    expect(code).toBe(1)
  })
})
