import { type Address, getAddress, type Hex } from 'viem'
import { type Artifact, loadArtifact } from './artifacts.js'

/**
 * The EntryPoint versions Conveyor serves and where they live. Everything a version does
 * differently (op shape, hash, packing, simulation, gas rules) is in its module under
 * `chain/entrypoint/`; callers ask the registry there (`entryPointFor(address)`), not this table.
 */
export type EntryPointVersion = 'v0.6' | 'v0.7' | 'v0.8' | 'v0.9'
export const ENTRY_POINT_VERSIONS: readonly EntryPointVersion[] = ['v0.6', 'v0.7', 'v0.8', 'v0.9']

/** The deterministic CREATE2 deployer (pre-installed on anvil and most chains). */
export const CREATE2_DEPLOYER: Address = '0x4e59b44847b379578588920ca78fbf26c0b4956c'

export interface EntryPointSpec {
  version: EntryPointVersion
  address: Address
  /** CREATE2 salt through the deterministic deployer that yields `address` from the canonical build. */
  salt: Hex
  /** npm alias holding this version's artifacts. */
  artifactsPackage: string
  /**
   * Whether the npm package's init code with `salt` lands at `address` (checked by
   * test/dev-chain.test.ts). When it does not (v0.9.0-rc.1 is not the build that was deployed),
   * `conveyor dev` runs the package's constructor at the canonical address instead (dev/deploy.ts).
   */
  create2Reproducible: boolean
}

export const ENTRY_POINTS: Record<EntryPointVersion, EntryPointSpec> = {
  'v0.6': {
    version: 'v0.6',
    address: getAddress('0x5FF137D4b0FDCD49DcA30c7CF57E578a026d2789'),
    salt: '0x0000000000000000000000000000000000000000000000000000000000000000',
    artifactsPackage: 'aa-v06',
    create2Reproducible: true,
  },
  'v0.7': {
    version: 'v0.7',
    address: getAddress('0x0000000071727De22E5E9d8BAf0edAc6f37da032'),
    salt: '0x90d8084deab30c2a37c45e8d47f49f2f7965183cb6990a98943ef94940681de3',
    artifactsPackage: 'aa-v07',
    create2Reproducible: true,
  },
  'v0.8': {
    version: 'v0.8',
    address: getAddress('0x4337084D9E255Ff0702461CF8895CE9E3b5Ff108'),
    salt: '0x0a59dbff790c23c976a548690c27297883cc66b4c67024f9117b0238995e35e9',
    artifactsPackage: 'aa-v08',
    create2Reproducible: true,
  },
  'v0.9': {
    version: 'v0.9',
    address: getAddress('0x433709009B8330FDa32311DF1C2AFA402eD8D009'),
    // The salt of the published v0.9.0 deployment; with 0.9.0-rc.1's init code it yields
    // 0x63e9dfF4784c514b314670f239a52690F5709433, not the canonical address.
    salt: '0x7702864008ddeab30aa67b7adc3d2653bc8d162714b1fe8fe4582df814f3bf61',
    artifactsPackage: 'aa-v09',
    create2Reproducible: false,
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
