import type { FastifyError } from 'fastify'
import { RpcCode } from '../util/errors.js'
import { errorResponse } from './jsonrpc.js'

/** EIP-1474 "limit exceeded": the answer to a client over its request rate. */
export const RATE_LIMITED = -32005

/** What an HTTP-level failure is answered with: status, JSON-RPC code and message. */
export interface HttpFailure {
  status: number
  code: number
  message: string
  /** A label for the request metrics. */
  label: 'invalid' | 'rate_limited' | 'internal'
}

/**
 * Maps what fastify or a plugin throws before a request reaches JSON-RPC dispatch. Client faults
 * keep their 4xx status; anything else is a JSON-RPC internal error with HTTP 200, so no client
 * request ever gets a 5xx.
 */
export function httpFailure(err: FastifyError, maxBodyBytes: number): HttpFailure {
  const status = err.statusCode ?? 500
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || status === 413) {
    return {
      status: 413,
      code: RpcCode.InvalidRequest,
      message: `request body exceeds ${maxBodyBytes} bytes`,
      label: 'invalid',
    }
  }
  if (status === 429) return { status, code: RATE_LIMITED, message: err.message, label: 'rate_limited' }
  if (status >= 400 && status < 500) {
    return {
      status,
      code: RpcCode.InvalidRequest,
      message: `invalid request: ${shortText(err.message)}`,
      label: 'invalid',
    }
  }
  return { status: 200, code: RpcCode.InternalError, message: 'internal error', label: 'internal' }
}

function shortText(s: string): string {
  return s.length > 120 ? `${s.slice(0, 120)}…` : s
}

/** Raw HTTP answer for a request node:http could not even parse (no reply object exists then). */
export function clientErrorResponse(err: NodeJS.ErrnoException): string {
  const [status, text] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout']
        : [400, 'Bad Request']
  const body = errorResponse(null, { code: RpcCode.InvalidRequest, message: `invalid HTTP request: ${text}` })
  return `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
}
