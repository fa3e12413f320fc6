import { type Address, getAddress, type Hash } from 'viem'
import { entryPointFor } from '../chain/entrypoint/registry.js'
import type { UserOperation } from '../chain/userop.js'
import type { MinedOpInfo, Pool, PoolQuery } from '../pool/types.js'
import type { GasEstimator } from '../sim/types.js'
import { quantity, toWire } from './encode.js'
import { entryPointParser } from './entry-point-param.js'
import type { MethodTable } from './methods.js'
import type { MinedUserOperationReceipt, OpLookup } from './op-lookup.js'
import { opCodec } from './op-shapes.js'
import { hashSchema, parseParam, positional, stateOverrideSchema } from './params.js'
import { CLIENT_VERSION } from './version.js'

export interface EthDeps {
  chainId: number
  entryPoints: Address[]
  pool: Pool & PoolQuery
  estimator: GasEstimator
  /** On-chain lookup of ops the pool no longer remembers. */
  lookup: OpLookup
}

function minedReceipt(m: MinedOpInfo) {
  return {
    userOpHash: m.hash,
    entryPoint: getAddress(m.entryPoint),
    sender: getAddress(m.sender),
    nonce: quantity(m.nonce),
    paymaster: getAddress(m.paymaster),
    actualGasCost: quantity(m.actualGasCost),
    actualGasUsed: quantity(m.actualGasUsed),
    success: m.success,
    logs: toWire(m.logs),
    receipt: toWire(m.receipt),
  }
}

function chainReceipt(r: MinedUserOperationReceipt) {
  return {
    userOpHash: r.userOpHash,
    entryPoint: r.entryPoint,
    sender: r.sender,
    nonce: quantity(r.nonce),
    paymaster: r.paymaster,
    actualGasCost: quantity(r.actualGasCost),
    actualGasUsed: quantity(r.actualGasUsed),
    success: r.success,
    ...(r.reason !== undefined ? { reason: r.reason } : {}),
    logs: r.logs,
    receipt: r.receipt,
  }
}

/** An op in the wire shape of its EntryPoint's version. */
export function encodeOpFor(entryPoint: Address, op: UserOperation) {
  return opCodec(served(entryPoint)).encode(op)
}

/** The module of an EntryPoint the RPC already checked it serves. */
function served(entryPoint: Address) {
  const ep = entryPointFor(entryPoint)
  if (!ep) throw new Error(`no module for EntryPoint ${entryPoint}`)
  return ep
}

/**
 * The eth_* and web3_* methods of the ERC-4337 bundler RPC. Ops come and go in the shape of their
 * EntryPoint's version (v0.6 packed fields, v0.7+ unpacked, v0.9 with paymasterSignature): the
 * EntryPoint parameter is read first and chooses the codec.
 */
export function registerEth(table: MethodTable, deps: EthDeps): void {
  const { pool, estimator, lookup } = deps
  const entryPoints = deps.entryPoints.map((a) => getAddress(a))
  const entryPoint = entryPointParser(entryPoints)

  table.register('eth_chainId', async (params) => {
    positional(params, 0, 0)
    return quantity(deps.chainId)
  })

  table.register('eth_supportedEntryPoints', async (params) => {
    positional(params, 0, 0)
    return entryPoints
  })

  table.register('web3_clientVersion', async (params) => {
    positional(params, 0, 0)
    return CLIENT_VERSION
  })

  table.register('eth_sendUserOperation', async (params) => {
    const p = positional(params, 2, 2)
    const ep = entryPoint(p[1], 1)
    const op = opCodec(served(ep)).parseOp(p[0], 0)
    return pool.addOp(ep, op)
  })

  table.register('eth_estimateUserOperationGas', async (params) => {
    const p = positional(params, 2, 3)
    const ep = entryPoint(p[1], 1)
    const op = opCodec(served(ep)).parseDraft(p[0], 0)
    const overrides =
      p[2] === undefined || p[2] === null ? undefined : parseParam(stateOverrideSchema, p[2], 2)
    const est = await estimator.estimate(ep, op, overrides)
    return {
      preVerificationGas: quantity(est.preVerificationGas),
      verificationGasLimit: quantity(est.verificationGasLimit),
      callGasLimit: quantity(est.callGasLimit),
      ...(est.paymasterVerificationGasLimit !== undefined
        ? { paymasterVerificationGasLimit: quantity(est.paymasterVerificationGasLimit) }
        : {}),
      ...(est.paymasterPostOpGasLimit !== undefined
        ? { paymasterPostOpGasLimit: quantity(est.paymasterPostOpGasLimit) }
        : {}),
    }
  })

  table.register('eth_getUserOperationByHash', async (params) => {
    const hash: Hash = parseParam(hashSchema, positional(params, 1, 1)[0], 0)
    const mined = await pool.getMinedOp(hash)
    if (mined)
      return {
        userOperation: encodeOpFor(mined.entryPoint, mined.op),
        entryPoint: getAddress(mined.entryPoint),
        blockNumber: quantity(mined.blockNumber),
        blockHash: mined.blockHash,
        transactionHash: mined.transactionHash,
      }
    const pending = await pool.getOp(hash)
    if (pending)
      return {
        userOperation: encodeOpFor(pending.entryPoint, pending.op),
        entryPoint: getAddress(pending.entryPoint),
        blockNumber: null,
        blockHash: null,
        transactionHash: null,
      }
    const found = await lookup.getUserOperation(hash)
    if (!found) return null
    return {
      userOperation: encodeOpFor(found.entryPoint, found.userOperation),
      entryPoint: found.entryPoint,
      blockNumber: quantity(found.blockNumber),
      blockHash: found.blockHash,
      transactionHash: found.transactionHash,
    }
  })

  table.register('eth_getUserOperationReceipt', async (params) => {
    const hash: Hash = parseParam(hashSchema, positional(params, 1, 1)[0], 0)
    const mined = await pool.getMinedOp(hash)
    if (mined) return minedReceipt(mined)
    // Clients poll for receipts; an op still pending in the pool needs no eth_getLogs round trip.
    if (await pool.getOp(hash)) return null
    const found = await lookup.getUserOperationReceipt(hash)
    return found ? chainReceipt(found) : null
  })
}
