import cors from '@fastify/cors'
import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance } from 'fastify'

/**
 * CORS for browser wallets: none (no Access-Control-* headers, so browsers refuse cross-origin
 * calls), `*` for any origin, or a list of origins answered exactly.
 */
export async function allowOrigins(app: FastifyInstance, origins: readonly string[]): Promise<void> {
  const origin = origins.includes('*') ? '*' : origins.length > 0 ? [...origins] : false
  await app.register(cors, {
    origin,
    methods: ['POST', 'GET', 'OPTIONS'],
    allowedHeaders: ['Content-Type'],
    maxAge: 600,
  })
}

export interface RateLimit {
  /** Requests per window per client IP; 0 turns the limit off. */
  perIp: number
  windowMs: number
}

/**
 * Per-IP request rate on the routes that opt in with `config: { rateLimit: {} }` (the JSON-RPC
 * ones; /health stays free for load balancers). Over the limit the plugin throws a 429, which the
 * server's error handler answers as JSON-RPC error -32005.
 */
export async function limitRate(app: FastifyInstance, limit: RateLimit): Promise<void> {
  if (limit.perIp <= 0) return
  await app.register(rateLimit, { global: false, max: limit.perIp, timeWindow: limit.windowMs })
}
