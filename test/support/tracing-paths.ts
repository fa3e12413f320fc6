import pino from 'pino'
import { createPublicClient, http, type PublicClient } from 'viem'
import { JsValidationTracer } from '../../src/sim/tracer/js-tracer.js'
import { createValidationMode } from '../../src/sim/tracer/mode.js'
import type { ValidationTracer } from '../../src/sim/tracer-seam.js'
import type { TestChain } from '../harness/chain.js'
import { type NativeOnlyNode, startNativeOnlyNode } from './native-only-node.js'

export type TracingPath = 'js' | 'native'
export const TRACING_PATHS: readonly TracingPath[] = ['js', 'native']

/** A tracing path: the client everything talks to and the trace source safe mode uses on it. */
export interface PathRig {
  client: PublicClient
  tracer: ValidationTracer
}

/**
 * Safe mode's two tracing paths on one test chain:
 * - js: anvil itself, Conveyor's JS tracer;
 * - native: anvil behind a proxy that refuses JS tracers as hosted providers do. The start-up mode
 *   must pick the prestateTracer + replay path with no JS fallback there, so every verdict on this
 *   path comes from the native path alone (a replay the node disagrees with is refused), its
 *   replays run on the worker thread.
 */
export async function startTracingPaths(
  chain: TestChain,
): Promise<{ paths: Record<TracingPath, PathRig>; proxy: NativeOnlyNode; stop(): Promise<void> }> {
  const proxy = await startNativeOnlyNode(chain.url)
  const proxied = createPublicClient({
    chain: chain.client.chain,
    transport: http(proxy.url),
  }) as PublicClient
  proxied.pollingInterval = chain.client.pollingInterval
  const mode = await createValidationMode({
    unsafe: false,
    client: proxied,
    chainId: chain.chainId,
    logger: pino({ level: 'silent' }),
    // Every verdict on this path comes from replays on the worker thread, as in the product.
    replayWorker: true,
  })
  if (mode.tracer?.name !== 'native' || !(await mode.replayWorker?.started)) {
    await Promise.all([proxy.stop(), mode.close()])
    throw new Error(
      `expected the native path alone behind the proxy, on its worker, got ${mode.tracer?.name}`,
    )
  }
  return {
    paths: {
      js: { client: chain.client, tracer: new JsValidationTracer(chain.client) },
      native: { client: proxied, tracer: mode.tracer },
    },
    proxy,
    stop: async () => {
      await Promise.all([proxy.stop(), mode.close()])
    },
  }
}
