// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

// Test-only signature aggregation (ERC-7766) for Conveyor's chain tests: an aggregator, an account
// that hands its signature check to it, and the account's factory.
//
// The scheme is plain ECDSA, really checked: an op's signature is its owner's 65-byte signature of
// the EntryPoint's userOpHash. validateUserOpSignature checks it and returns an empty sigForUserOp
// (what the op carries in the bundle); aggregateSignatures concatenates the ops' signatures; and
// validateSignatures, called on chain by handleAggregatedOps, checks every op against its slice of
// the aggregate and that each op in the bundle carries the empty sigForUserOp. Not a compression
// scheme: it exercises the bundler's side of aggregation, not cryptography.

import {PackedUserOperation, TestAccountBase} from "./TestAccountBase.sol";

interface IEntryPointForAggregation {
    function getUserOpHash(PackedUserOperation calldata userOp) external view returns (bytes32);
}

interface IOwned {
    function owner() external view returns (address);
}

contract TestAggregator {
    uint256 private constant SIG = 65;
    address public immutable entryPoint;
    address public immutable admin;
    /// 0: works; 1: aggregateSignatures reverts; 2: validateSignatures reverts (a broken aggregator);
    /// 3: validateSignatures reverts only when the EntryPoint calls it, so the check passes off
    /// chain and fails inside handleAggregatedOps (SignatureValidationFailed from the bundle).
    uint256 public failMode;

    constructor(address entryPoint_) {
        entryPoint = entryPoint_;
        admin = msg.sender;
    }

    function setFailMode(uint256 mode) external {
        require(msg.sender == admin, "not admin");
        failMode = mode;
    }

    function validateUserOpSignature(PackedUserOperation calldata userOp)
        external
        view
        returns (bytes memory sigForUserOp)
    {
        require(userOp.signature.length == SIG, "bad op signature length");
        require(_signedByOwner(userOp, userOp.signature), "bad op signature");
        return "";
    }

    function aggregateSignatures(PackedUserOperation[] calldata userOps)
        external
        view
        returns (bytes memory aggregated)
    {
        require(failMode != 1, "aggregation broken");
        for (uint256 i = 0; i < userOps.length; i++) {
            require(userOps[i].signature.length == SIG, "bad op signature length");
            aggregated = bytes.concat(aggregated, userOps[i].signature);
        }
    }

    function validateSignatures(PackedUserOperation[] calldata userOps, bytes calldata signature) external view {
        require(failMode != 2, "validation broken");
        require(failMode != 3 || msg.sender != entryPoint, "validation broken in the bundle");
        require(signature.length == SIG * userOps.length, "bad aggregated signature length");
        for (uint256 i = 0; i < userOps.length; i++) {
            require(userOps[i].signature.length == 0, "op does not carry its sigForUserOp");
            require(_signedByOwner(userOps[i], signature[i * SIG:(i + 1) * SIG]), "bad aggregated signature");
        }
    }

    /// The EntryPoint requires a staked aggregator.
    function addStake(uint32 unstakeDelaySec) external payable {
        (bool ok,) = entryPoint.call{value: msg.value}(abi.encodeWithSignature("addStake(uint32)", unstakeDelaySec));
        require(ok, "addStake failed");
    }

    function _signedByOwner(PackedUserOperation calldata userOp, bytes calldata sig) private view returns (bool) {
        bytes32 hash = IEntryPointForAggregation(entryPoint).getUserOpHash(userOp);
        bytes32 r = bytes32(sig[0:32]);
        bytes32 s = bytes32(sig[32:64]);
        uint8 v = uint8(sig[64]);
        address signer = ecrecover(hash, v, r, s);
        return signer != address(0) && signer == _ownerOf(userOp);
    }

    /// An account not yet deployed names its owner in its initCode: factory ‖ createAccount(owner, salt).
    function _ownerOf(PackedUserOperation calldata userOp) private view returns (address) {
        if (userOp.initCode.length == 0) return IOwned(userOp.sender).owner();
        (address owner,) = abi.decode(userOp.initCode[24:], (address, uint256));
        return owner;
    }
}

/// An account whose signature check is its aggregator's: validateUserOp returns the aggregator.
contract AggregatedAccount is TestAccountBase {
    address public immutable aggregator;
    address public immutable owner;

    constructor(address entryPoint_, address aggregator_, address owner_) TestAccountBase(entryPoint_) {
        aggregator = aggregator_;
        owner = owner_;
    }

    function validateUserOp(PackedUserOperation calldata, bytes32, uint256 missingAccountFunds)
        external
        returns (uint256 validationData)
    {
        _fromEntryPointPaying(missingAccountFunds);
        return uint256(uint160(aggregator));
    }
}

/// Deploys AggregatedAccounts for one EntryPoint and aggregator at CREATE2 addresses.
contract AggregatedAccountFactory {
    address public immutable entryPoint;
    address public immutable aggregator;

    constructor(address entryPoint_, address aggregator_) {
        entryPoint = entryPoint_;
        aggregator = aggregator_;
    }

    function createAccount(address owner, uint256 salt) external returns (address account) {
        account = getAddress(owner, salt);
        if (account.code.length > 0) return account;
        return address(new AggregatedAccount{salt: bytes32(salt)}(entryPoint, aggregator, owner));
    }

    function getAddress(address owner, uint256 salt) public view returns (address) {
        bytes32 code = keccak256(
            abi.encodePacked(type(AggregatedAccount).creationCode, abi.encode(entryPoint, aggregator, owner))
        );
        return address(uint160(uint256(keccak256(abi.encodePacked(bytes1(0xff), address(this), bytes32(salt), code)))));
    }
}
