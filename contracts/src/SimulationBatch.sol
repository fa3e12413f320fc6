// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

// Conveyor's bundle re-simulation in one eth_call. Never deployed: the bundler places this code by
// state override at a fixed unused address (src/sim/batch-call.ts), next to EntryPointSimulations'
// code overridden at the EntryPoint, and calls simulateValidations with all the bundle's ops.
// Each op runs in a self-call that always reverts, so every op sees the block's state, not the
// changes of the ops simulated before it (nonces, deposits, deployed accounts, warm slots).

/** The v0.7 and v0.8 PackedUserOperation (same layout in both). */
struct BatchPackedUserOperation {
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

interface IBatchEntryPointSimulations {
    function simulateValidation(BatchPackedUserOperation calldata userOp) external;
}

contract SimulationBatch {
    /** One op's simulateValidation: the return data when ok, else the revert data. */
    struct Result {
        bool ok;
        bytes data;
    }

    /** How simulateOne hands its outcome back through its own revert. */
    error Simulated(bool ok, bytes data);
    /** simulateOne failed without reporting (it cannot, with the gas check): the batch is void. */
    error BatchFailed(uint256 index, bytes reason);
    error SelfCallOnly();

    /** Fixed gas of one op outside the entities' limits: EntryPoint bookkeeping, copies, this loop. */
    uint256 private constant OP_OVERHEAD = 300_000;

    /**
     * Simulates ops in order while gas lasts: results has one entry per op that ran, a prefix of ops
     * (the caller sends the rest again). An op only starts when the gas left covers its worst case,
     * so no op fails for want of gas that a call of its own would have had.
     */
    function simulateValidations(address entryPoint, BatchPackedUserOperation[] calldata ops)
        external
        returns (Result[] memory results)
    {
        results = new Result[](ops.length);
        uint256 n;
        for (; n < ops.length; n++) {
            if (gasleft() < gasNeeded(ops[n]) + encodingReserve()) break;
            try this.simulateOne(entryPoint, ops[n]) {
                revert BatchFailed(n, ""); // simulateOne always reverts
            } catch (bytes memory reason) {
                results[n] = unwrap(n, reason);
            }
        }
        assembly {
            mstore(results, n) // only the ops that ran
        }
    }

    /** Runs one simulation and reverts with its outcome, undoing its state changes. */
    function simulateOne(address entryPoint, BatchPackedUserOperation calldata op) external {
        if (msg.sender != address(this)) revert SelfCallOnly();
        (bool ok, bytes memory data) =
            entryPoint.call(abi.encodeCall(IBatchEntryPointSimulations.simulateValidation, (op)));
        revert Simulated(ok, data);
    }

    /**
     * Worst case of one op: the factory and the account may each use verificationGasLimit, the
     * paymaster its own limit; 63/64 of the gas passes down each of the three call levels.
     */
    function gasNeeded(BatchPackedUserOperation calldata op) private pure returns (uint256) {
        uint256 verification = uint256(op.accountGasLimits) >> 128;
        uint256 paymaster =
            op.paymasterAndData.length >= 36 ? uint256(uint128(bytes16(op.paymasterAndData[20:36]))) : 0;
        uint256 memoryCost = (op.initCode.length + op.callData.length + op.signature.length
            + op.paymasterAndData.length) * 8;
        return ((2 * verification + paymaster) * 67) / 63 + OP_OVERHEAD + memoryCost;
    }

    /** Enough to double the memory used so far: ABI-encoding the results copies them once. */
    function encodingReserve() private pure returns (uint256) {
        uint256 words;
        assembly {
            words := div(add(mload(0x40), 31), 32)
        }
        return 3 * words + (3 * words * words) / 512 + 50_000;
    }

    /** Simulated(ok, data) read in place: no copy of data. */
    function unwrap(uint256 index, bytes memory reason) private pure returns (Result memory r) {
        bytes4 selector;
        uint256 offset;
        assembly {
            selector := mload(add(reason, 32))
            offset := mload(add(reason, 68))
        }
        // Layout: length | selector | ok | offset (0x40) | data length | data
        if (reason.length < 100 || selector != Simulated.selector || offset != 0x40) {
            revert BatchFailed(index, reason);
        }
        bool ok;
        bytes memory data;
        assembly {
            ok := mload(add(reason, 36))
            data := add(reason, 100)
        }
        if (data.length + 100 > reason.length) revert BatchFailed(index, reason);
        r = Result(ok, data);
    }
}
