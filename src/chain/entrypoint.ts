import { type Address, getAddress, type Hex } from 'viem'
import { type Artifact, loadArtifact } from './artifacts.js'

export type EntryPointVersion = 'v0.7' | 'v0.8'
export const ENTRY_POINT_VERSIONS: readonly EntryPointVersion[] = ['v0.7', 'v0.8']

/** The deterministic CREATE2 deployer (pre-installed on anvil and most chains). */
export const CREATE2_DEPLOYER: Address = '0x4e59b44847b379578588920ca78fbf26c0b4956c'

export interface EntryPointSpec {
  version: EntryPointVersion
  address: Address
  /** CREATE2 salt through the deterministic deployer that yields `address`. */
  salt: Hex
  /** npm alias holding this version's artifacts. */
  artifactsPackage: string
}

export const ENTRY_POINTS: Record<EntryPointVersion, EntryPointSpec> = {
  'v0.7': {
    version: 'v0.7',
    address: getAddress('0x0000000071727De22E5E9d8BAf0edAc6f37da032'),
    salt: '0x90d8084deab30c2a37c45e8d47f49f2f7965183cb6990a98943ef94940681de3',
    artifactsPackage: 'aa-v07',
  },
  'v0.8': {
    version: 'v0.8',
    address: getAddress('0x4337084D9E255Ff0702461CF8895CE9E3b5Ff108'),
    salt: '0x0a59dbff790c23c976a548690c27297883cc66b4c67024f9117b0238995e35e9',
    artifactsPackage: 'aa-v08',
  },
}

export function entryPointArtifact(version: EntryPointVersion, name: string): Artifact {
  return loadArtifact(ENTRY_POINTS[version].artifactsPackage, name)
}

export function entryPointAbi(version: EntryPointVersion) {
  return entryPointArtifact(version, 'EntryPoint').abi
}

/** The version served at `address`, or undefined for an address Conveyor does not know. */
export function versionOf(address: Address): EntryPointVersion | undefined {
  const a = address.toLowerCase()
  return ENTRY_POINT_VERSIONS.find((v) => ENTRY_POINTS[v].address.toLowerCase() === a)
}
