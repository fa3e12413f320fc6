import { getAddress, type Hex, keccak256, slice, toHex } from 'viem'

/**
 * A tiny contract for measuring an op's execution gas. The estimator puts its code at
 * GAS_PROBE_ADDRESS by state override and calls `EntryPoint.delegateAndRevert(GAS_PROBE_ADDRESS,
 * probe(sender, callData, limit))` as the `target` of `simulateHandleOp`: the probe then runs in the
 * EntryPoint's context after the op's validation (and deployment), so the account sees its
 * EntryPoint as caller, and the revert of delegateAndRevert rolls back whatever the call did.
 *
 * GAS_PROBE_CODE is solc 0.8.28's output for GAS_PROBE_SOURCE (optimizer 200 runs, evm cancun);
 * test/estimate-probe.test.ts recompiles the source and checks the bytes.
 */
export const GAS_PROBE_SOURCE = `// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// Runs inside the EntryPoint (through EntryPoint.delegateAndRevert, so the account sees
/// msg.sender == EntryPoint) and measures the gas of one call with a given limit.
contract GasProbe {
    function probe(address target, bytes calldata data, uint256 gasLimit)
        external
        returns (bool success, uint256 gasUsed, bytes memory result)
    {
        uint256 before = gasleft();
        (success, result) = target.call{gas: gasLimit}(data);
        gasUsed = before - gasleft();
    }
}
`

export const GAS_PROBE_SOLC = { version: '0.8.28', optimizerRuns: 200, evmVersion: 'cancun' } as const

export const GAS_PROBE_CODE: Hex =
  '0x608060405234801561000f575f5ffd5b5060043610610029575f3560e01c8063e4a8012e1461002d575b5f5ffd5b61004061003b3660046100d8565b610058565b60405161004f9392919061016a565b60405180910390f35b5f5f60605f5a9050876001600160a01b031685888860405161007b9291906101af565b5f604051808303815f8787f1925050503d805f81146100b5576040519150601f19603f3d011682016040523d82523d5f602084013e6100ba565b606091505b5090945091505a6100cb90826101be565b9250509450945094915050565b5f5f5f5f606085870312156100eb575f5ffd5b84356001600160a01b0381168114610101575f5ffd5b9350602085013567ffffffffffffffff81111561011c575f5ffd5b8501601f8101871361012c575f5ffd5b803567ffffffffffffffff811115610142575f5ffd5b876020828401011115610153575f5ffd5b949760209190910196509394604001359392505050565b8315158152826020820152606060408201525f82518060608401528060208501608085015e5f608082850101526080601f19601f830116840101915050949350505050565b818382375f9101908152919050565b818103818111156101dd57634e487b7160e01b5f52601160045260245ffd5b9291505056fea264697066735822122033e0c47b67c8d0c08db1aefdc56545ac40a4322bf1c47e370a2fffe733d4ae8764736f6c634300081c0033'

export const GAS_PROBE_ABI = [
  {
    type: 'function',
    name: 'probe',
    stateMutability: 'nonpayable',
    inputs: [
      { name: 'target', type: 'address' },
      { name: 'data', type: 'bytes' },
      { name: 'gasLimit', type: 'uint256' },
    ],
    outputs: [
      { name: 'success', type: 'bool' },
      { name: 'gasUsed', type: 'uint256' },
      { name: 'result', type: 'bytes' },
    ],
  },
] as const

/** An address nothing real lives at: the last 20 bytes of keccak("conveyor.sim.gas-probe"). */
export const GAS_PROBE_ADDRESS = getAddress(slice(keccak256(toHex('conveyor.sim.gas-probe')), 12))
