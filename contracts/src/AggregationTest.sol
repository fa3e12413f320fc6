// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

// Test-only aggregation for Conveyor's proposer tests. The "signature scheme" is deliberately
// trivial: an op's signature must be keccak256(sender, nonce, key), and the aggregated signature is
// keccak256 over the ops' signatures in order. It exercises the bundler's plumbing, not cryptography.

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

interface IEntryPointDeposit {
    function depositTo(address account) external payable;
}

contract TestAggregator {
    bytes32 public immutable key;

    constructor(bytes32 key_) {
        key = key_;
    }

    function expectedSignature(address sender, uint256 nonce) public view returns (bytes32) {
        return keccak256(abi.encode(sender, nonce, key));
    }

    function validateUserOpSignature(PackedUserOperation calldata userOp) external view returns (bytes memory) {
        require(bytes32(userOp.signature) == expectedSignature(userOp.sender, userOp.nonce), "bad op signature");
        return "";
    }

    function aggregateSignatures(PackedUserOperation[] calldata userOps) external pure returns (bytes memory) {
        bytes memory all;
        for (uint256 i = 0; i < userOps.length; i++) all = bytes.concat(all, userOps[i].signature);
        return abi.encode(keccak256(all));
    }

    function validateSignatures(PackedUserOperation[] calldata userOps, bytes calldata signature) external view {
        bytes memory all;
        for (uint256 i = 0; i < userOps.length; i++) {
            require(bytes32(userOps[i].signature) == expectedSignature(userOps[i].sender, userOps[i].nonce), "bad op signature");
            all = bytes.concat(all, userOps[i].signature);
        }
        require(abi.decode(signature, (bytes32)) == keccak256(all), "bad aggregated signature");
    }

    /** The EntryPoint requires a staked aggregator. */
    function addStake(address entryPoint, uint32 unstakeDelaySec) external payable {
        (bool ok,) = entryPoint.call{value: msg.value}(abi.encodeWithSignature("addStake(uint32)", unstakeDelaySec));
        require(ok, "addStake failed");
    }
}

/** An account that hands signature checking to an aggregator and accepts any call from the EntryPoint. */
contract AggregatedAccount {
    address public immutable entryPoint;
    address public immutable aggregator;

    constructor(address entryPoint_, address aggregator_) {
        entryPoint = entryPoint_;
        aggregator = aggregator_;
    }

    receive() external payable {}

    function validateUserOp(PackedUserOperation calldata, bytes32, uint256 missingAccountFunds)
        external
        returns (uint256 validationData)
    {
        require(msg.sender == entryPoint, "not from entry point");
        if (missingAccountFunds > 0) {
            (bool ok,) = payable(msg.sender).call{value: missingAccountFunds}("");
            (ok);
        }
        return uint256(uint160(aggregator));
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
