import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { REDACT_PATHS } from '../src/util/log.js'

describe('log redaction', () => {
  it('censors secrets under the config spellings and the signer spellings, at any usual depth', () => {
    const lines: string[] = []
    const log = pino({ redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, {
      write: (s: string) => lines.push(s),
    } as never)
    const key = `0x${'ab'.repeat(32)}`
    log.info(
      {
        config: {
          signer: { private_keys: [key], mnemonic: 'test test junk' },
          builder: { flashbots_relay_auth_key: key, bloxroute_auth_header: 'Basic c2VjcmV0' },
        },
        privateKey: key,
        request: { headers: { authorization: 'Bearer s3cret' } },
      },
      'with secrets',
    )
    const out = lines.join('')
    for (const secret of [key, 'test test junk', 'Basic c2VjcmV0', 's3cret'])
      expect(out).not.toContain(secret)
    expect(out).toContain('[redacted]')
  })
})
