import { KMSClient } from '@aws-sdk/client-kms'

export interface KmsClientOptions {
  /** Otherwise the SDK's chain (AWS_REGION, profile). */
  region?: string
  /** Custom endpoint (VPC endpoint, a local test server). */
  endpoint?: string
  /** SDK attempts per call, throttling back-off included (default 3). */
  maxAttempts?: number
  /** Per HTTP attempt (default 3000). */
  requestTimeoutMillis?: number
}

/** The real AWS SDK client; credentials come from the SDK's standard provider chain. */
export function createKmsClient(opts: KmsClientOptions = {}): KMSClient {
  const timeout = opts.requestTimeoutMillis ?? 3000
  return new KMSClient({
    ...(opts.region ? { region: opts.region } : {}),
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    maxAttempts: opts.maxAttempts ?? 3,
    retryMode: 'standard',
    requestHandler: { requestTimeout: timeout, connectionTimeout: Math.min(timeout, 2000) },
  })
}
