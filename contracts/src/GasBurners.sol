// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {PackedUserOp} from "./UserOperations.sol";

// Ops that spend what they declare (test/bundle-gas-limit.test.ts): a call target that burns the
// gas it is asked to, and a v0.7+ paymaster whose postOp does the same. A bundle whose gas limit
// holds less than the ops' call and postOp limits fails them with "AA95 out of gas".

/** Burns `gasToBurn` of the call's gas in keccak rounds, then records that it finished. */
contract GasBurner {
    uint256 public burns;

    function burn(uint256 gasToBurn) external {
        uint256 start = gasleft();
        uint256 x;
        while (start - gasleft() < gasToBurn) {
            x = uint256(keccak256(abi.encode(x)));
        }
        burns += 1 + (x & 0);
    }
}

/**
 * v0.7, v0.8 and v0.9: sponsors every op and returns a context, so the EntryPoint calls postOp,
 * which burns the gas paymasterData asks for (abi.encode(uint256 gasToBurn)) out of
 * paymasterPostOpGasLimit. Validation reads no storage (ERC-7562 safe for any stake).
 */
contract PostOpPaymaster {
    address public immutable entryPoint;
    uint256 public postOps;

    constructor(address entryPoint_) {
        entryPoint = entryPoint_;
    }

    function validatePaymasterUserOp(PackedUserOp calldata op, bytes32, uint256)
        external
        view
        returns (bytes memory context, uint256 validationData)
    {
        require(msg.sender == entryPoint, "not from EntryPoint");
        uint256 burn = op.paymasterAndData.length >= 84 ? uint256(bytes32(op.paymasterAndData[52:84])) : 0;
        return (abi.encode(burn), 0);
    }

    function postOp(uint8, bytes calldata context, uint256, uint256) external {
        require(msg.sender == entryPoint, "not from EntryPoint");
        uint256 burn = abi.decode(context, (uint256));
        uint256 start = gasleft();
        uint256 x;
        while (start - gasleft() < burn) {
            x = uint256(keccak256(abi.encode(x)));
        }
        postOps += 1 + (x & 0);
    }

    function deposit() external payable {
        (bool ok,) = entryPoint.call{value: msg.value}(abi.encodeWithSignature("depositTo(address)", address(this)));
        require(ok, "deposit failed");
    }
}
