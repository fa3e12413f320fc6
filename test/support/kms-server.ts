import { createPublicKey } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type Address, bytesToHex, type Hex, hexToBytes } from 'viem'
import { generatePrivateKey, privateKeyToAccount, sign } from 'viem/accounts'

/**
 * A local stand-in for AWS KMS that speaks its real wire protocol (AWS JSON 1.1 over HTTP POST,
 * `X-Amz-Target: TrentService.<Op>`, SigV4-signed requests, `__type` errors) for GetPublicKey and Sign,
 * with secp256k1 keys it holds. The real AWS SDK client talks to it through its endpoint option.
 */
export interface KmsTestServer {
  url: string
  /** Adds a key (random unless given); returns its id and Ethereum address. */
  addKey(opts?: { keyId?: string; privateKey?: Hex }): { keyId: string; address: Address }
  /** Fail the next `count` calls of `op` with the given AWS error type (e.g. ThrottlingException). */
  failNext(op: 'GetPublicKey' | 'Sign', count: number, errorType: string, status?: number): void
  clearFaults(): void
  /** 'alternate' (default) returns high-s for every other signature. */
  highS: 'always' | 'never' | 'alternate'
  /** Delay every response (ms). */
  delayMillis: number
  readonly calls: {
    op: string
    keyId: string
    messageType?: string
    signingAlgorithm?: string
    authorized: boolean
  }[]
  readonly highSReturned: number
  stop(): Promise<void>
}

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
const ACCOUNT = '111122223333'

function derInt(v: bigint): Buffer {
  let h = v.toString(16)
  if (h.length % 2) h = `0${h}`
  let b = Buffer.from(h, 'hex')
  if ((b[0] as number) & 0x80) b = Buffer.concat([Buffer.from([0]), b])
  return Buffer.concat([Buffer.from([0x02, b.length]), b])
}

/** ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } (always < 128 bytes for secp256k1). */
export function derSignature(r: bigint, s: bigint): Buffer {
  const body = Buffer.concat([derInt(r), derInt(s)])
  return Buffer.concat([Buffer.from([0x30, body.length]), body])
}

/** SPKI DER from Node's own encoder (OpenSSL), independent of the signer's parser. */
export function spkiDer(privateKey: Hex): Buffer {
  const pub = hexToBytes(privateKeyToAccount(privateKey).publicKey)
  const b64url = (b: Uint8Array) => Buffer.from(b).toString('base64url')
  const key = createPublicKey({
    key: { kty: 'EC', crv: 'secp256k1', x: b64url(pub.subarray(1, 33)), y: b64url(pub.subarray(33, 65)) },
    format: 'jwk',
  })
  return key.export({ type: 'spki', format: 'der' })
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

export async function startKmsServer(opts: { region?: string } = {}): Promise<KmsTestServer> {
  const region = opts.region ?? 'us-east-1'
  const keys = new Map<string, Hex>()
  const faults: { op: string; count: number; type: string; status: number }[] = []
  let signCount = 0
  let highSReturned = 0
  let counter = 0
  const calls: KmsTestServer['calls'] = []

  const arn = (id: string) => `arn:aws:kms:${region}:${ACCOUNT}:key/${id}`
  const lookup = (keyId: string) => keys.get(keyId.replace(/^arn:aws:kms:[^:]+:\d+:key\//, ''))

  const send = (res: ServerResponse, status: number, body: unknown, errorType?: string) => {
    const headers: Record<string, string> = {
      'content-type': 'application/x-amz-json-1.1',
      'x-amzn-requestid': `req-${++counter}`,
    }
    if (errorType) headers['x-amzn-errortype'] = errorType
    res.writeHead(status, headers).end(JSON.stringify(body))
  }
  const fail = (res: ServerResponse, status: number, type: string, message: string) =>
    send(res, status, { __type: type, message }, type)

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req)
    if (server.delayMillis > 0) await new Promise((r) => setTimeout(r, server.delayMillis))
    const target = String(req.headers['x-amz-target'] ?? '')
    const op = target.startsWith('TrentService.') ? target.slice('TrentService.'.length) : ''
    if (
      req.method !== 'POST' ||
      !String(req.headers['content-type']).startsWith('application/x-amz-json-1.1')
    ) {
      return fail(res, 400, 'SerializationException', 'expected POST application/x-amz-json-1.1')
    }
    // The real service rejects unsigned requests; the SDK always signs with SigV4.
    const authorized = /^AWS4-HMAC-SHA256 Credential=[^/]+\/\d{8}\/[^/]+\/kms\/aws4_request/.test(
      String(req.headers.authorization ?? ''),
    )
    let input: { KeyId?: string; Message?: string; MessageType?: string; SigningAlgorithm?: string }
    try {
      input = JSON.parse(body || '{}')
    } catch {
      return fail(res, 400, 'SerializationException', 'body is not JSON')
    }
    calls.push({
      op,
      keyId: input.KeyId ?? '',
      messageType: input.MessageType,
      signingAlgorithm: input.SigningAlgorithm,
      authorized,
    })
    if (!authorized) return fail(res, 400, 'MissingAuthenticationTokenException', 'request is not signed')
    const fault = faults.find((f) => f.op === op && f.count > 0)
    if (fault) {
      fault.count--
      return fail(res, fault.status, fault.type, 'Rate exceeded')
    }
    if (op !== 'GetPublicKey' && op !== 'Sign') return fail(res, 400, 'UnknownOperationException', op)
    const keyId = input.KeyId ?? ''
    const pk = lookup(keyId)
    if (!pk) return fail(res, 400, 'NotFoundException', `Key '${arn(keyId)}' does not exist`)
    const id = keyId.replace(/^arn:aws:kms:[^:]+:\d+:key\//, '')

    if (op === 'GetPublicKey') {
      return send(res, 200, {
        KeyId: arn(id),
        KeySpec: 'ECC_SECG_P256K1',
        CustomerMasterKeySpec: 'ECC_SECG_P256K1',
        KeyUsage: 'SIGN_VERIFY',
        PublicKey: spkiDer(pk).toString('base64'),
        SigningAlgorithms: ['ECDSA_SHA_256'],
      })
    }
    if (input.SigningAlgorithm !== 'ECDSA_SHA_256') {
      return fail(res, 400, 'InvalidKeyUsageException', 'ECC_SECG_P256K1 keys sign with ECDSA_SHA_256 only')
    }
    const message = Buffer.from(input.Message ?? '', 'base64')
    if (input.MessageType !== 'DIGEST' || message.length !== 32) {
      // A RAW message would be hashed with SHA-256 by KMS: useless for Ethereum, so refuse it here.
      return fail(res, 400, 'ValidationException', 'expected MessageType DIGEST with a 32-byte digest')
    }
    const sig = await sign({ hash: bytesToHex(message), privateKey: pk })
    let s = BigInt(sig.s)
    const high = server.highS === 'always' || (server.highS === 'alternate' && signCount % 2 === 1)
    signCount++
    if (high) {
      s = N - s // the other valid signature for the same (r): what a generic ECDSA signer often returns
      highSReturned++
    }
    return send(res, 200, {
      KeyId: arn(id),
      Signature: derSignature(BigInt(sig.r), s).toString('base64'),
      SigningAlgorithm: 'ECDSA_SHA_256',
    })
  }

  const http: Server = createServer((req, res) => {
    handle(req, res).catch((err) => fail(res, 500, 'KMSInternalException', String(err)))
  })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  const port = (http.address() as AddressInfo).port

  const server: KmsTestServer = {
    url: `http://127.0.0.1:${port}`,
    addKey(o = {}) {
      const privateKey = o.privateKey ?? generatePrivateKey()
      const keyId = o.keyId ?? crypto.randomUUID()
      keys.set(keyId, privateKey)
      return { keyId, address: privateKeyToAccount(privateKey).address }
    },
    failNext(op, count, type, status = 400) {
      faults.push({ op, count, type, status })
    },
    clearFaults() {
      faults.length = 0
    },
    highS: 'alternate',
    delayMillis: 0,
    calls,
    get highSReturned() {
      return highSReturned
    },
    async stop() {
      http.closeAllConnections()
      await new Promise<void>((resolve) => http.close(() => resolve()))
    },
  }
  return server
}
