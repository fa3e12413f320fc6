// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

// Test-only accounts whose validations pass alone but not together, for the proposer's whole-bundle
// handleOps check: one account's validation closes a gate that another account's validation reads.
// (ERC-7562 forbids this in safe mode; an unsafe bundler must catch it with the bundle's eth_call.)

import {PackedUserOperation, TestAccountBase} from "./TestAccountBase.sol";

contract Gate {
    bool public closed;

    function close() external {
        closed = true;
    }
}

/// Accepts any signature. Behaviour: 0 closes the gate; 1 reverts once the gate is closed; 2 returns
/// no data at all once it is closed (the EntryPoint cannot decode that: v0.7's handleOps then
/// reverts naming no op, v0.8 reports AA23).
contract GateAccount is TestAccountBase {
    Gate public immutable gate;
    uint256 public immutable behaviour;

    constructor(address entryPoint_, Gate gate_, uint256 behaviour_) TestAccountBase(entryPoint_) {
        gate = gate_;
        behaviour = behaviour_;
    }

    function validateUserOp(PackedUserOperation calldata, bytes32, uint256 missingAccountFunds)
        external
        returns (uint256 validationData)
    {
        _fromEntryPointPaying(missingAccountFunds);
        if (behaviour == 0) {
            gate.close();
        } else if (gate.closed()) {
            if (behaviour == 1) revert("gate closed");
            assembly {
                return(0, 0)
            }
        }
        return 0;
    }
}
