import type { KMSClient } from '@aws-sdk/client-kms'
import type { Registry } from 'prom-client'
import { type Logger, silentLogger } from '../../util/log.js'
import { KmsError, SignerConfigError } from './errors.js'
import { KmsSigner } from './kms.js'
import { createKmsClient } from './kms-client.js'
import { LeasingSignerManager } from './leasing-manager.js'
import { mnemonicSigners, privateKeySigners } from './local.js'
import { RedisLockStore } from './redis-lock.js'
import { planSigners } from './settings.js'
import { StaticSignerManager } from './static-manager.js'
import type { TxPolicy } from './tx.js'
import {
  DEFAULT_REDIS_LOCK_TTL_MILLIS,
  type Signer,
  type SignerManager,
  type SignerSettings,
} from './types.js'

export interface SignerDeps {
  logger?: Logger
  /** Lease metrics are registered here when given. */
  registry?: Registry
  /** Defaults to a client built from awsKmsRegion / awsKmsEndpoint. */
  kmsClient?: KMSClient
}

function assertDistinct(entries: { keyId: string; signer: Signer }[], what: (i: number) => string): void {
  const seen = new Map<string, number>()
  entries.forEach((e, i) => {
    const prev = seen.get(e.signer.address)
    if (prev !== undefined) {
      throw new SignerConfigError(`${what(prev)} and ${what(i)} are the same account ${e.signer.address}`)
    }
    seen.set(e.signer.address, i)
  })
}

/** Reads every KMS public key once (cached in the signer): an unknown key id stops start-up here. */
async function kmsSigners(client: KMSClient, keyIds: string[], policy: TxPolicy, timeoutMillis: number) {
  return Promise.all(
    keyIds.map(async (keyId) => {
      try {
        return { keyId, signer: await KmsSigner.create(client, keyId, { policy, timeoutMillis }) }
      } catch (err) {
        if (err instanceof KmsError && err.kind === 'not_found') {
          throw new SignerConfigError(`KMS key id ${keyId} was not found`)
        }
        throw new SignerConfigError(`KMS key id ${keyId} cannot be used: ${(err as Error).message}`)
      }
    }),
  )
}

/** Validates the settings, loads keys (KMS public keys over the network) and builds the manager. */
export async function createSignerManager(
  settings: SignerSettings,
  deps: SignerDeps = {},
): Promise<SignerManager> {
  const logger = deps.logger ?? silentLogger
  const plan = planSigners(settings)
  const policy: TxPolicy = { chainId: settings.chainId, eip7702: settings.eip7702 ?? false }

  if (plan.kind === 'privateKeys') {
    const signers = privateKeySigners(plan.keys, policy).map((signer, i) => ({ keyId: `key-${i}`, signer }))
    assertDistinct(signers, (i) => `private key at index ${i}`)
    return new StaticSignerManager(signers, settings.numSigners)
  }
  if (plan.kind === 'mnemonic') {
    const signers = mnemonicSigners(plan.mnemonic, settings.numSigners, policy)
    return new StaticSignerManager(
      signers.map((signer, i) => ({ keyId: `mnemonic-${i}`, signer })),
      settings.numSigners,
    )
  }

  const client =
    deps.kmsClient ??
    createKmsClient({
      region: settings.awsKmsRegion,
      endpoint: settings.awsKmsEndpoint,
      maxAttempts: settings.awsKmsMaxAttempts,
    })
  // Only a client we built is ours to destroy.
  const onClose = () => {
    if (!deps.kmsClient) client.destroy()
  }
  let keys: Awaited<ReturnType<typeof kmsSigners>>
  try {
    keys = await kmsSigners(client, plan.keyIds, policy, settings.awsKmsTimeoutMillis ?? 10_000)
    assertDistinct(keys, (i) => `KMS key id ${plan.keyIds[i]}`)
  } catch (err) {
    onClose()
    throw err
  }
  if (!plan.leasing) return new StaticSignerManager(keys, settings.numSigners, onClose)

  const ttlMillis = settings.redisLockTtlMillis ?? DEFAULT_REDIS_LOCK_TTL_MILLIS
  const store = new RedisLockStore(settings.redisUri as string, {
    // A renewal must answer well within its period, or the lease is treated as lost.
    commandTimeoutMillis: Math.max(100, Math.min(2000, Math.floor(ttlMillis / 6))),
    logger,
  })
  return new LeasingSignerManager({
    chainId: settings.chainId,
    keys,
    store,
    ttlMillis,
    leaseWaitMillis: settings.leaseWaitMillis,
    numSigners: settings.numSigners,
    logger,
    registry: deps.registry,
    onClose,
  })
}
