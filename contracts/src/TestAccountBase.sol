// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

// What the project's test accounts share: the v0.7+ PackedUserOperation, the prefund payment to
// the EntryPoint, and an EntryPoint-only execute.

struct PackedUserOperation {
    address sender;
    uint256 nonce;
    bytes initCode;
    bytes callData;
    bytes32 accountGasLimits;
    uint256 preVerificationGas;
    bytes32 gasFees;
    bytes paymasterAndData;
    bytes signature;
}

abstract contract TestAccountBase {
    address public immutable entryPoint;

    constructor(address entryPoint_) {
        entryPoint = entryPoint_;
    }

    receive() external payable {}

    /// Checks the caller and pays the EntryPoint what the op still owes for its prefund.
    function _fromEntryPointPaying(uint256 missingAccountFunds) internal {
        require(msg.sender == entryPoint, "not from entry point");
        if (missingAccountFunds > 0) {
            (bool ok,) = payable(msg.sender).call{value: missingAccountFunds}("");
            (ok);
        }
    }

    function execute(address to, uint256 value, bytes calldata data) external {
        require(msg.sender == entryPoint, "not from entry point");
        (bool ok, bytes memory ret) = to.call{value: value}(data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
    }
}
