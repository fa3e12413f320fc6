import { z } from 'zod'
import { opt } from './option.js'
import { RPC_NAMESPACES } from './rpc-api.js'
import { bigint, boolean, corsOriginItem, integer, list, text } from './value-types.js'

/** The servers' options: the JSON-RPC server (rpc.*) and the metrics and admin server (metrics.*). */

export const rpcOptions = z
  .object({
    host: opt({
      type: text('a host name or IP address'),
      help: 'Address the JSON-RPC server listens on.',
      default: '127.0.0.1',
    }),
    port: opt({
      type: integer({ min: 0, max: 65_535 }),
      help: 'Port of the JSON-RPC server; 0 picks a free port.',
      default: 3000,
    }),
    enable_debug_methods: opt({
      type: boolean(),
      help: 'Serve the debug_bundler_* methods.',
      default: false,
      devDefault: 'true',
    }),
    api: opt({
      type: list(z.enum(RPC_NAMESPACES), `comma-separated namespaces: ${RPC_NAMESPACES.join(', ')}`),
      help: "Rundler's namespace list: eth is always served; debug serves the debug_bundler_* methods (as rpc.enable_debug_methods does). Conveyor has no rundler or admin namespace.",
      defaultText: 'eth (dev: eth,debug)',
    }),
    max_request_body_bytes: opt({
      type: integer({ min: 1024, max: 1 << 30, unit: 'bytes' }),
      help: 'Largest JSON-RPC request body accepted; a larger one gets HTTP 413 with a JSON-RPC error.',
      default: 1 << 20,
    }),
    corsdomain: opt({
      type: list(corsOriginItem, 'comma-separated origins (https://app.example) or *'),
      help: 'Browser origins allowed to call the RPC (CORS); none by default, * for any.',
      default: [] as string[],
      devDefault: '*',
    }),
    max_connections: opt({
      type: integer({ min: 1, max: 1_000_000 }),
      help: 'Most concurrent connections to the RPC server; further ones are refused.',
      default: 100,
    }),
    rate_limit_per_ip: opt({
      type: integer({ min: 0, max: 1_000_000 }),
      help: 'Requests one client IP may make per rpc.rate_limit_window_millis; beyond it the answer is HTTP 429 with JSON-RPC error -32005. 0 turns the limit off.',
      default: 0,
    }),
    rate_limit_window_millis: opt({
      type: integer({ min: 100, max: 3_600_000, unit: 'milliseconds' }),
      help: 'The window of rpc.rate_limit_per_ip.',
      default: 1000,
    }),
    op_lookup_block_distance: opt({
      type: bigint({ min: 1n, unit: 'blocks' }),
      help: 'Blocks searched by eth_getUserOperationByHash/Receipt for ops the pool no longer remembers (eth_getLogs range).',
      default: 10_000n,
    }),
  })
  .strict()
  .default({})

export const metricsOptions = z
  .object({
    enabled: opt({
      section: 'Metrics and admin server',
      type: boolean(),
      help: 'Run the metrics and admin server (/metrics, /health and the status page); --metrics=false turns it off.',
      default: true,
    }),
    port: opt({
      type: integer({ min: 0, max: 65_535 }),
      help: 'Port of the metrics and admin server; 0 picks a free port.',
      default: 8080,
    }),
    host: opt({
      type: text('a host name or IP address'),
      help: 'Address the metrics and admin server listens on. It shows operational detail: keep it private.',
      default: '127.0.0.1',
    }),
  })
  .strict()
  .default({})
