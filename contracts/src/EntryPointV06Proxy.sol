// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

// Conveyor's stand-in for EntryPoint v0.7's delegateAndRevert on EntryPoint v0.6, for gas
// estimation only. Never deployed: the estimator places this code by state override at the v0.6
// EntryPoint's address and the EntryPoint's own code at IMPLEMENTATION (src/chain/entrypoint/
// simulation-v06.ts). Every call but delegateAndRevert runs the EntryPoint's code in the
// EntryPoint's own context and storage, so simulateHandleOp behaves as on chain, and its target
// call can run the gas probe as the EntryPoint (accounts accept calls only from it).
contract EntryPointV06Proxy {
    /** Where the EntryPoint's code is placed beside this proxy: no code or state on any chain. */
    address private constant IMPLEMENTATION = 0x00000000000000000000000000C0fFEE0E060601;

    /** The outcome of the delegated call, as v0.7's EntryPoint reports it. */
    error DelegateAndRevert(bool success, bytes ret);

    function delegateAndRevert(address target, bytes calldata data) external {
        (bool success, bytes memory ret) = target.delegatecall(data);
        revert DelegateAndRevert(success, ret);
    }

    fallback() external payable {
        assembly {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), IMPLEMENTATION, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }

    receive() external payable {
        assembly {
            let ok := delegatecall(gas(), IMPLEMENTATION, 0, 0, 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }
}
