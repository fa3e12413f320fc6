import { numberToHex } from 'viem'
import { getUserOperationHash } from 'viem/account-abstraction'
import { privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { chainSpecFor } from '../src/chain/chain-spec.js'
import {
  authorizationGas,
  DELEGATION_PREFIX,
  delegateOf,
  delegationCode,
  EIP7702_MARKER,
  type Eip7702Auth,
  factoryEntity,
  PER_AUTHORIZATION_GAS,
} from '../src/chain/eip7702.js'
import { entryPointOfVersion } from '../src/chain/entrypoint/registry.js'
import { requiredPreVerificationGas } from '../src/chain/gas.js'
import type { UserOperation } from '../src/chain/userop.js'
import { consumedAuthorizationReason } from '../src/pool/eip7702-rules.js'
import { opCodec } from '../src/rpc/op-shapes.js'
import { checkAuthorizationSignature, checkAuthorizationState } from '../src/sim/eip7702-check.js'

/** Pure parts of EIP-7702 support: codes, hashes, the wire codec, the checks that need no chain. */
const owner = privateKeyToAccount(`0x${'42'.repeat(32)}`)
const DELEGATE = '0xe6Cae83BdE06E4c305530e199D7217f42808555B' as const
const CHAIN = 31337

async function signed(over: { chainId?: number; nonce?: number } = {}): Promise<Eip7702Auth> {
  const a = await owner.signAuthorization({
    address: DELEGATE,
    chainId: over.chainId ?? CHAIN,
    nonce: over.nonce ?? 0,
  })
  return {
    address: a.address,
    chainId: BigInt(a.chainId),
    nonce: BigInt(a.nonce),
    yParity: a.yParity ?? 0,
    r: a.r,
    s: a.s,
  }
}

function op(over: Partial<UserOperation> = {}): UserOperation {
  return {
    sender: owner.address,
    nonce: 0n,
    factory: EIP7702_MARKER,
    factoryData: '0x',
    callData: '0x1234',
    callGasLimit: 100_000n,
    verificationGasLimit: 150_000n,
    preVerificationGas: 60_000n,
    maxFeePerGas: 2_000_000_000n,
    maxPriorityFeePerGas: 1_000_000_000n,
    signature: '0x',
    ...over,
  }
}

describe('delegation codes and the marker', () => {
  it('0xef0100 ‖ delegate, read back; other code is no delegation; the marker is no factory entity', () => {
    const code = delegationCode(DELEGATE)
    expect(code.startsWith(DELEGATION_PREFIX)).toBe(true)
    expect(delegateOf(code)).toBe(DELEGATE)
    expect(delegateOf('0x')).toBeUndefined()
    expect(delegateOf(`0xef0200${DELEGATE.slice(2)}`)).toBeUndefined()
    expect(delegateOf(`${code}00`)).toBeUndefined()
    expect(factoryEntity(op())).toBeUndefined()
    expect(factoryEntity(op({ factory: DELEGATE }))).toBe(DELEGATE)
  })
})

describe('userOpHash of a 7702 op (v0.8, v0.9) equals viem’s, the delegate in place of the marker', () => {
  it.each(['v0.8', 'v0.9'] as const)('%s, with and without factoryData', async (version) => {
    const auth = await signed()
    const ep = entryPointOfVersion(version)
    for (const factoryData of ['0x', '0xabcdef'] as const) {
      const o = op({ eip7702Auth: auth, factoryData })
      const viem = getUserOperationHash({
        userOperation: {
          ...o,
          factory: '0x7702',
          authorization: { ...auth, chainId: CHAIN, nonce: 0 },
        } as never,
        entryPointAddress: ep.address,
        entryPointVersion: version === 'v0.8' ? '0.8' : '0.9',
        chainId: CHAIN,
      })
      expect(ep.hash(o, CHAIN)).toBe(viem)
      // Without the authorization, the delegate found on chain gives the same hash.
      expect(ep.hash({ ...o, eip7702Auth: undefined, eip7702Delegate: DELEGATE }, CHAIN)).toBe(viem)
    }
    expect(() => ep.hash(op(), CHAIN)).toThrow(/no known delegate/)
  })
})

describe('the wire codec', () => {
  const v08 = opCodec(entryPointOfVersion('v0.8'))
  const wire = async () => {
    const a = await signed()
    return {
      sender: owner.address,
      nonce: '0x0',
      factory: '0x7702',
      factoryData: '0x',
      callData: '0x1234',
      callGasLimit: '0x1',
      verificationGasLimit: '0x1',
      preVerificationGas: '0x1',
      maxFeePerGas: '0x1',
      maxPriorityFeePerGas: '0x1',
      signature: '0x',
      eip7702Auth: {
        chainId: numberToHex(CHAIN),
        address: DELEGATE,
        nonce: '0x0',
        yParity: numberToHex(a.yParity, { size: 1 }),
        r: a.r,
        s: a.s,
      },
    }
  }
  it('parses viem’s short marker and the authorization, and encodes them back', async () => {
    const w = await wire()
    const parsed = v08.parseOp(w, 0)
    expect(parsed.factory).toBe(EIP7702_MARKER)
    expect(parsed.eip7702Auth).toEqual(await signed())
    const back = v08.encode(parsed) as Record<string, unknown>
    expect(back.factory).toBe(EIP7702_MARKER)
    expect(back.eip7702Auth).toMatchObject({
      address: DELEGATE,
      nonce: '0x0',
      yParity: numberToHex((await signed()).yParity),
    })
  })
  it('names the bad field', async () => {
    const w = await wire()
    expect(() => v08.parseOp({ ...w, eip7702Auth: { ...w.eip7702Auth, r: 'zz' } }, 0)).toThrow(
      'params[0].eip7702Auth.r',
    )
    expect(() => v08.parseOp({ ...w, factory: '0x1111111111111111111111111111111111111111' }, 0)).toThrow(
      'params[0].eip7702Auth: given without the 0x7702 factory marker',
    )
    expect(() => v08.parseOp({ ...w, eip7702Auth: { ...w.eip7702Auth, extra: 1 } }, 0)).toThrow(
      'params[0].eip7702Auth: unknown field extra',
    )
  })
})

describe('checks that need no chain', () => {
  it('a good authorization passes; yParity, r, chain id and signer are named', async () => {
    const auth = await signed()
    await expect(checkAuthorizationSignature(op({ eip7702Auth: auth }), CHAIN)).resolves.toBeUndefined()
    await expect(
      checkAuthorizationSignature(op({ eip7702Auth: await signed({ chainId: 0 }) }), CHAIN),
    ).resolves.toBeUndefined()
    await expect(
      checkAuthorizationSignature(op({ eip7702Auth: { ...auth, yParity: 3 } }), CHAIN),
    ).rejects.toThrow('eip7702Auth.yParity')
    await expect(
      checkAuthorizationSignature(op({ eip7702Auth: { ...auth, r: `0x${'00'.repeat(32)}` } }), CHAIN),
    ).rejects.toThrow('eip7702Auth.r')
    await expect(checkAuthorizationSignature(op({ eip7702Auth: auth }), 1)).rejects.toThrow(
      'eip7702Auth.chainId',
    )
    await expect(
      checkAuthorizationSignature(op({ eip7702Auth: auth, sender: DELEGATE }), CHAIN),
    ).rejects.toThrow(`signed by ${owner.address}`)
  })
  it('nonce: the account nonce, or the pending one; the delegate needs code', async () => {
    const o = op({ eip7702Auth: await signed({ nonce: 3 }) })
    const code = delegationCode(DELEGATE)
    expect(() =>
      checkAuthorizationState(o, { nonce: 3n, pendingNonce: 3n, delegateCode: code }),
    ).not.toThrow()
    expect(() =>
      checkAuthorizationState(o, { nonce: 2n, pendingNonce: 3n, delegateCode: code }),
    ).not.toThrow()
    expect(() => checkAuthorizationState(o, { nonce: 4n, pendingNonce: 4n, delegateCode: code })).toThrow(
      'eip7702Auth.nonce: 3 is not the sender',
    )
    expect(() => checkAuthorizationState(o, { nonce: 3n, pendingNonce: 3n, delegateCode: '0x' })).toThrow(
      'eip7702Auth.address',
    )
  })
  it('a consumed authorization nonce is a stated reason; a current one is none', async () => {
    const o = op({ eip7702Auth: await signed({ nonce: 1 }) })
    expect(consumedAuthorizationReason(o, 1n)).toBeUndefined()
    expect(consumedAuthorizationReason(o, 2n)).toContain('nonce 1 of')
    expect(consumedAuthorizationReason(op(), 9n)).toBeUndefined()
  })
})

describe('gas', () => {
  it('each authorization costs 25,000: in the op’s required preVerificationGas and the bundle’s intrinsic gas', async () => {
    const spec = chainSpecFor(CHAIN)
    const withAuth = op({ eip7702Auth: await signed() })
    const without = op({ eip7702Delegate: DELEGATE })
    expect(requiredPreVerificationGas(withAuth, spec) - requiredPreVerificationGas(without, spec)).toBe(
      PER_AUTHORIZATION_GAS,
    )
    expect(authorizationGas([withAuth, without, withAuth])).toBe(50_000n)
  })
})
