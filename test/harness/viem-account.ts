import { type Address, type Client, encodeFunctionData, type Hex, type LocalAccount } from 'viem'
import {
  entryPoint06Abi,
  entryPoint07Abi,
  entryPoint08Abi,
  entryPoint09Abi,
  getUserOperationHash,
  type SmartAccount,
  toSmartAccount,
} from 'viem/account-abstraction'
import { type EntryPointVersion, entryPointArtifact } from '../../src/chain/entrypoint.js'
import { DUMMY_SIGNATURE, SIMPLE_ACCOUNT_SIGNS_MESSAGE } from './account.js'

/** viem's EntryPoint descriptions, by Conveyor's version names. */
const VIEM_ENTRY_POINTS = {
  'v0.6': { abi: entryPoint06Abi, version: '0.6' },
  'v0.7': { abi: entryPoint07Abi, version: '0.7' },
  'v0.8': { abi: entryPoint08Abi, version: '0.8' },
  'v0.9': { abi: entryPoint09Abi, version: '0.9' },
} as const

/**
 * The sample SimpleAccount as a viem SmartAccount (viem 2.57 ships no implementation of it, and
 * permissionless's toSimpleSmartAccount does not install beside it: its optional peer `ox` is
 * pinned to a line viem no longer uses), so viem's own bundler client can drive Conveyor:
 * getAddress through the factory, execute/executeBatch, v0.6/v0.7 signing the EIP-191 message of
 * the userOpHash, v0.8/v0.9 the raw EIP-712 hash. viem sends v0.6 ops with initCode and
 * paymasterAndData, v0.7+ with the unpacked fields.
 */
export async function toSimpleAccount(params: {
  client: Client
  version: EntryPointVersion
  entryPoint: Address
  factory: Address
  owner: LocalAccount
  salt?: bigint
}): Promise<SmartAccount> {
  const { client, version, entryPoint, factory, owner, salt = 0n } = params
  const accountAbi = entryPointArtifact(version, 'SimpleAccount').abi
  const factoryAbi = entryPointArtifact(version, 'SimpleAccountFactory').abi
  const factoryData = encodeFunctionData({
    abi: factoryAbi,
    functionName: 'createAccount',
    args: [owner.address, salt],
  })
  const ep = { ...VIEM_ENTRY_POINTS[version], address: entryPoint }
  let address: Address | undefined
  return toSmartAccount({
    client: client as never,
    entryPoint: ep,
    async getAddress(): Promise<Address> {
      address ??= await (client as unknown as { request: (a: unknown) => Promise<Hex> })
        .request({
          method: 'eth_call',
          params: [
            {
              to: factory,
              data: encodeFunctionData({
                abi: factoryAbi,
                functionName: 'getAddress',
                args: [owner.address, salt],
              }),
            },
            'latest',
          ],
        })
        .then((r) => `0x${r.slice(-40)}` as Address)
      return address as Address
    },
    async getFactoryArgs() {
      return { factory, factoryData }
    },
    async encodeCalls(calls) {
      if (calls.length === 1) {
        const c = calls[0]!
        return encodeFunctionData({
          abi: accountAbi,
          functionName: 'execute',
          args: [c.to, c.value ?? 0n, c.data ?? '0x'],
        })
      }
      return encodeFunctionData({
        abi: accountAbi,
        functionName: 'executeBatch',
        args: [calls.map((c) => ({ target: c.to, value: c.value ?? 0n, data: c.data ?? '0x' }))],
      })
    },
    async getStubSignature() {
      return DUMMY_SIGNATURE
    },
    async signMessage() {
      throw new Error('not needed by these tests')
    },
    async signTypedData() {
      throw new Error('not needed by these tests')
    },
    async signUserOperation(op) {
      const chainId = op.chainId ?? (client.chain?.id as number)
      const hash = getUserOperationHash({
        userOperation: { ...op, sender: op.sender ?? (await this.getAddress()), signature: '0x' } as never,
        entryPointAddress: entryPoint,
        entryPointVersion: ep.version,
        chainId,
      })
      return SIMPLE_ACCOUNT_SIGNS_MESSAGE[version]
        ? owner.signMessage({ message: { raw: hash } })
        : owner.sign!({ hash })
    },
  })
}
