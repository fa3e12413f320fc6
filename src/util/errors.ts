/** JSON-RPC error codes: the standard ones and ERC-4337's. */
export const RpcCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** Rejected by the EntryPoint or the account. */
  RejectedByEpOrAccount: -32500,
  RejectedByPaymaster: -32501,
  BannedOpcode: -32502,
  ShortDeadline: -32503,
  BannedOrThrottled: -32504,
  StakeTooLow: -32505,
  UnsupportedAggregator: -32506,
  InvalidSignature: -32507,
  PaymasterDepositTooLow: -32508,
  ExecutionReverted: -32521,
} as const
export type RpcCode = (typeof RpcCode)[keyof typeof RpcCode]

/** An error a caller sees as a JSON-RPC error: a code, a message saying what was wrong, optional data. */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message)
    this.name = 'RpcError'
  }
}

export function invalidParams(message: string, data?: unknown): RpcError {
  return new RpcError(RpcCode.InvalidParams, message, data)
}

/** A short, single-line description of a thrown value for logs and answers (viem's short message first). */
export function errorMessage(err: unknown): string {
  const e = err as { shortMessage?: string; message?: string }
  return (e?.shortMessage ?? e?.message ?? String(err)).slice(0, 300)
}
