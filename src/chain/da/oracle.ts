import {
  type Address,
  decodeFunctionResult,
  encodeFunctionData,
  type Hex,
  keccak256,
  numberToHex,
  type PublicClient,
} from 'viem'
import type { ChainSpec } from '../chain-spec.js'

/** What a bundle transaction adds around its calldata (RLP envelope: nonce, fees, gas, to, chain id, …). */
export const TX_ENVELOPE_BYTES = 120

/** The L1 data fee (wei) of a transaction to `to` with `bytes` of calldata, at a block. */
export interface L1FeeOracle {
  l1Fee(to: Address, bytes: number, blockNumber: bigint): Promise<bigint>
}

export const GAS_PRICE_ORACLE_ABI = [
  {
    type: 'function',
    name: 'getL1FeeUpperBound',
    stateMutability: 'view',
    inputs: [{ name: '_unsignedTxSize', type: 'uint256' }],
    outputs: [{ type: 'uint256' }],
  },
  {
    type: 'function',
    name: 'getL1Fee',
    stateMutability: 'view',
    inputs: [{ name: '_data', type: 'bytes' }],
    outputs: [{ type: 'uint256' }],
  },
] as const

export const NODE_INTERFACE_ABI = [
  {
    type: 'function',
    name: 'gasEstimateL1Component',
    stateMutability: 'payable',
    inputs: [
      { name: 'to', type: 'address' },
      { name: 'contractCreation', type: 'bool' },
      { name: 'data', type: 'bytes' },
    ],
    outputs: [
      { name: 'gasEstimateForL1', type: 'uint64' },
      { name: 'baseFee', type: 'uint256' },
      { name: 'l1BaseFeeEstimate', type: 'uint256' },
    ],
  },
] as const

type Client = Pick<PublicClient, 'call'>

async function callAt(client: Client, to: Address, data: Hex, blockNumber: bigint): Promise<Hex> {
  const { data: out } = await client.call({ to, data, blockNumber })
  if (!out) throw new Error(`the L1 fee oracle at ${to} returned nothing`)
  return out
}

/**
 * OP stack: `getL1FeeUpperBound(size)` (Fjord on), which needs only the size; before Fjord the
 * contract refuses it and `getL1Fee` prices incompressible bytes of that size.
 */
export class OpStackL1FeeOracle implements L1FeeOracle {
  private fjord = true
  constructor(
    private readonly client: Client,
    private readonly address: Address,
  ) {}

  async l1Fee(_to: Address, bytes: number, blockNumber: bigint): Promise<bigint> {
    const size = bytes + TX_ENVELOPE_BYTES
    if (this.fjord) {
      try {
        const out = await callAt(
          this.client,
          this.address,
          encodeFunctionData({
            abi: GAS_PRICE_ORACLE_ABI,
            functionName: 'getL1FeeUpperBound',
            args: [BigInt(size)],
          }),
          blockNumber,
        )
        return decodeFunctionResult({
          abi: GAS_PRICE_ORACLE_ABI,
          functionName: 'getL1FeeUpperBound',
          data: out,
        })
      } catch (err) {
        if (!isRevert(err)) throw err
        this.fjord = false
      }
    }
    const out = await callAt(
      this.client,
      this.address,
      encodeFunctionData({
        abi: GAS_PRICE_ORACLE_ABI,
        functionName: 'getL1Fee',
        args: [incompressible(size)],
      }),
      blockNumber,
    )
    return decodeFunctionResult({ abi: GAS_PRICE_ORACLE_ABI, functionName: 'getL1Fee', data: out })
  }
}

/**
 * Arbitrum Nitro: the NodeInterface's `gasEstimateL1Component` for incompressible bytes of the size
 * (Brotli cannot shrink them: the upper bound), as wei: L1 gas × the L2 base fee it priced at.
 */
export class ArbitrumL1FeeOracle implements L1FeeOracle {
  constructor(
    private readonly client: Client,
    private readonly address: Address,
  ) {}

  async l1Fee(to: Address, bytes: number, blockNumber: bigint): Promise<bigint> {
    const out = await callAt(
      this.client,
      this.address,
      encodeFunctionData({
        abi: NODE_INTERFACE_ABI,
        functionName: 'gasEstimateL1Component',
        args: [to, false, incompressible(bytes)],
      }),
      blockNumber,
    )
    const [gasForL1, baseFee] = decodeFunctionResult({
      abi: NODE_INTERFACE_ABI,
      functionName: 'gasEstimateL1Component',
      data: out,
    })
    return gasForL1 * baseFee
  }
}

export function l1FeeOracleFor(spec: ChainSpec, client: Client): L1FeeOracle | undefined {
  switch (spec.da.oracle) {
    case 'optimism_bedrock':
      return new OpStackL1FeeOracle(client, spec.da.address)
    case 'arbitrum_nitro':
      return new ArbitrumL1FeeOracle(client, spec.da.address)
    default:
      return undefined
  }
}

const incompressibleCache = new Map<number, Hex>()

/** `n` deterministic bytes no compressor shrinks (a keccak chain): the worst case for L1 pricing. */
export function incompressible(n: number): Hex {
  let hex = incompressibleCache.get(n)
  if (hex) return hex
  let out = ''
  let block: Hex = keccak256(numberToHex(n))
  while (out.length < n * 2) {
    out += block.slice(2)
    block = keccak256(block)
  }
  hex = `0x${out.slice(0, n * 2)}`
  if (incompressibleCache.size < 256) incompressibleCache.set(n, hex)
  return hex
}

function isRevert(err: unknown): boolean {
  const msg =
    err instanceof Error ? `${err.message} ${(err as { details?: string }).details ?? ''}` : String(err)
  return /revert/i.test(msg)
}
