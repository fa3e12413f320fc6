import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import type { Hex } from 'viem'
import { generatePrivateKey } from 'viem/accounts'
import { afterAll, describe, expect, it } from 'vitest'
import { isValidMnemonic } from '../src/builder/signer/bip39.js'
import { createSignerManager } from '../src/builder/signer/create.js'
import { SignerConfigError } from '../src/builder/signer/errors.js'
import { parsePrivateKeys } from '../src/builder/signer/local.js'
import { redactRedisUri } from '../src/builder/signer/redis-lock.js'
import { loadSignerSecrets, splitKeyList } from '../src/builder/signer/secrets.js'
import { describeSignerSettings, planSigners } from '../src/builder/signer/settings.js'
import type { SignerSettings } from '../src/builder/signer/types.js'

const K1 = generatePrivateKey()
const K2 = generatePrivateKey()
const MNEMONIC = 'test test test test test test test test test test test junk'
const base: SignerSettings = {
  redisLockTtlMillis: 60_000,
  leaseWaitMillis: 1000,
  enableLeasing: true,
  numSigners: 1,
  chainId: 31337,
}
const dir = mkdtempSync(join(tmpdir(), 'conveyor-signer-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

async function configError(s: SignerSettings): Promise<string> {
  const err = await createSignerManager(s).catch((e: unknown) => e)
  expect(err).toBeInstanceOf(SignerConfigError)
  return (err as Error).message
}

describe('signer configuration', () => {
  it('names a malformed private key by index, never by value', async () => {
    const bad = `${K2.slice(0, -2)}zz` as Hex
    const msg = await configError({ ...base, numSigners: 2, privateKeys: [K1, bad] })
    expect(msg).toMatch(/private key at index 1 is malformed/)
    expect(msg).not.toContain(bad.slice(2, 20))
    expect(msg).not.toContain(K1.slice(2, 20))
    expect(() => parsePrivateKeys([K1, `0x${'00'.repeat(32)}`])).toThrow(
      /index 1 is not a valid secp256k1 key/,
    )
    expect(() => parsePrivateKeys([`0x${'ff'.repeat(32)}`])).toThrow(/index 0 is not a valid/)
    expect(parsePrivateKeys([K1.slice(2)])).toEqual([K1.toLowerCase()])
  })

  it('refuses fewer keys than --num_signers, duplicate keys, and several or no sources', async () => {
    expect(await configError({ ...base, numSigners: 3, privateKeys: [K1, K2] })).toMatch(
      /2 key\(s\), fewer than --num_signers \(3\)/,
    )
    expect(await configError({ ...base, numSigners: 2, privateKeys: [K1, K1] })).toMatch(
      /private key at index 0 and private key at index 1 are the same account/,
    )
    expect(await configError({ ...base, privateKeys: [K1], mnemonic: MNEMONIC })).toMatch(
      /exactly one signer source/,
    )
    expect(await configError(base)).toMatch(/no signer configured/)
    expect(await configError({ ...base, numSigners: 0, privateKeys: [K1] })).toMatch(/--num_signers must be/)
    const kms = { ...base, awsKmsKeyIds: ['k1', 'k2'], redisUri: 'redis://127.0.0.1:1' }
    expect(await configError({ ...kms, numSigners: 3 })).toMatch(
      /2 key id\(s\), fewer than --num_signers \(3\)/,
    )
    expect(await configError({ ...kms, awsKmsKeyIds: ['k1', 'k1'] })).toMatch(/lists key id k1 twice/)
    expect(await configError({ ...kms, redisUri: undefined })).toMatch(/needs --signer.redis_uri/)
    expect(await configError({ ...kms, redisUri: 'http://x' })).toMatch(/redis:\/\/ or rediss:\/\//)
    expect(await configError({ ...kms, enableLeasing: false })).toMatch(/single key id and one sender/)
    expect(await configError({ ...kms, redisLockTtlMillis: 10 })).toMatch(/redis_lock_ttl_millis/)
  })

  it('leasing is optional only for one KMS key and one sender', () => {
    expect(planSigners({ ...base, awsKmsKeyIds: ['k1'], enableLeasing: false })).toEqual({
      kind: 'kms',
      keyIds: ['k1'],
      leasing: false,
    })
  })

  it('validates the mnemonic checksum (viem would derive an account from any string)', async () => {
    expect(isValidMnemonic(MNEMONIC)).toBe(true)
    expect(
      isValidMnemonic(
        'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about',
      ),
    ).toBe(true)
    expect(
      isValidMnemonic(
        'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon',
      ),
    ).toBe(false)
    const typo = MNEMONIC.replace('junk', 'junc')
    const msg = await configError({ ...base, mnemonic: typo })
    expect(msg).toMatch(/mnemonic is malformed/)
    expect(msg).not.toContain('test test')
  })

  it('reads keys from a flag, a file or the environment, in that order', () => {
    const file = join(dir, 'keys.txt')
    writeFileSync(file, `# bundler keys\n${K1}\n${K2}\n`)
    chmodSync(file, 0o600)
    expect(loadSignerSecrets({ privateKeysFile: file }, {})).toEqual({ privateKeys: [K1, K2], warnings: [] })
    expect(loadSignerSecrets({}, { CONVEYOR_SIGNER_PRIVATE_KEYS: `${K2},${K1}` }).privateKeys).toEqual([
      K2,
      K1,
    ])
    expect(loadSignerSecrets({}, { CONVEYOR_SIGNER_PRIVATE_KEYS_FILE: file }).privateKeys).toEqual([K1, K2])
    expect(
      loadSignerSecrets(
        { privateKeys: K2 },
        { CONVEYOR_SIGNER_PRIVATE_KEYS: K1, CONVEYOR_SIGNER_PRIVATE_KEYS_FILE: file },
      ).privateKeys,
    ).toEqual([K2])
    const mfile = join(dir, 'mnemonic.txt')
    writeFileSync(mfile, `  ${MNEMONIC.split(' ').join('\n')}\n`)
    chmodSync(mfile, 0o644)
    const m = loadSignerSecrets({ mnemonicFile: mfile }, {})
    expect(m.mnemonic).toBe(MNEMONIC)
    expect(m.warnings.join()).toMatch(/readable by other users/)
    expect(m.warnings.join()).not.toContain('test test')
    expect(loadSignerSecrets({}, { CONVEYOR_SIGNER_MNEMONIC: MNEMONIC }).mnemonic).toBe(MNEMONIC)
    expect(splitKeyList(' a, b\nc \n#x\n')).toEqual(['a', 'b', 'c'])
  })

  it('a missing key file names the path and the errno only', () => {
    expect(() => loadSignerSecrets({ privateKeysFile: join(dir, 'nope') }, {})).toThrow(
      /--signer.private_keys file .*nope cannot be read \(ENOENT\)/,
    )
  })

  it('the loggable view of the settings holds no secret, even through the logger', () => {
    const s: SignerSettings = {
      ...base,
      privateKeys: [K1, K2],
      mnemonic: MNEMONIC,
      redisUri: 'redis://:hunter2@127.0.0.1:6380/0',
    }
    const out: string[] = []
    const logger = pino({ level: 'info' }, { write: (x: string) => out.push(x) })
    logger.info({ signer: describeSignerSettings(s) }, 'signer settings')
    const text = out.join('')
    expect(text).toContain('"privateKeyCount":2')
    for (const secret of [K1.slice(2), K2.slice(2), 'test test', 'hunter2'])
      expect(text).not.toContain(secret)
    expect(redactRedisUri(s.redisUri as string)).toBe('redis://127.0.0.1:6380/0')
  })
})
