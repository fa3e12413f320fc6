import { generatePrivateKey } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { conveyor } from './support/conveyor-process.js'

describe('conveyor with an earlier option spelling', () => {
  it('logs one deprecation line naming the new spelling (then fails on the unreachable node as usual)', async () => {
    const run = conveyor([
      'node',
      '--node_http',
      'http://127.0.0.1:9', // nothing listens: start-up stops after the config is loaded and logged
      '--signer.private_keys',
      generatePrivateKey(),
      '--max_bundle_size',
      '5',
      '--rpc.port',
      '0',
      '--metrics.port',
      '0',
    ])
    const { code } = await run.exited(30_000)
    expect(code).toBe(1)
    const lines = run
      .stderr()
      .split('\n')
      .filter((l) => l.includes('is deprecated'))
    expect(lines).toHaveLength(1)
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 40,
      deprecated: true,
      msg: '--max_bundle_size is deprecated (command line): use --builder.max_bundle_size',
    })
  })
})
