// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

// Conveyor's bundle re-simulation in one eth_call. Never deployed: the bundler places this code by
// state override at a fixed unused address (src/sim/batch-call.ts), next to whatever the
// EntryPoint's simulation needs (v0.7+: EntryPointSimulations' code at the EntryPoint), and calls
// simulateCalls with each op's simulateValidation calldata, encoded for its EntryPoint's version.
// Each call runs in a self-call that always reverts, so every op sees the block's state, not the
// changes of the ops simulated before it (nonces, deposits, deployed accounts, warm slots).

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

    /**
     * Runs the calls to `target` in order while gas lasts: results has one entry per call that
     * ran, a prefix of calls (the caller sends the rest again). A call only starts when the gas left
     * covers its worst case (gasNeeded, computed by the caller from the op's limits), so no op fails
     * for want of gas that a call of its own would have had.
     */
    function simulateCalls(address target, bytes[] calldata calls, uint256[] calldata gasNeeded)
        external
        returns (Result[] memory results)
    {
        results = new Result[](calls.length);
        uint256 n;
        for (; n < calls.length; n++) {
            if (gasleft() < gasNeeded[n] + encodingReserve()) break;
            try this.simulateOne(target, calls[n]) {
                revert BatchFailed(n, ""); // simulateOne always reverts
            } catch (bytes memory reason) {
                results[n] = unwrap(n, reason);
            }
        }
        assembly {
            mstore(results, n) // only the calls that ran
        }
    }

    /** Runs one call and reverts with its outcome, undoing its state changes. */
    function simulateOne(address target, bytes calldata data) external {
        if (msg.sender != address(this)) revert SelfCallOnly();
        (bool ok, bytes memory ret) = target.call(data);
        revert Simulated(ok, ret);
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
