// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {PackedUserOp, UserOpV06} from "./UserOperations.sol";

// Test paymasters for what EntryPoint v0.6 and v0.9 do differently (test/entrypoint-*.test.ts).
// Their parameters are immutables, so validation reads no storage (ERC-7562 safe for any stake).

interface IStakeManagerLike {
    function depositTo(address account) external payable;
    function addStake(uint32 unstakeDelaySec) external payable;
}

/**
 * v0.6: sponsors every op and returns a context, so the EntryPoint calls postOp, which burns the
 * gas paymasterData asks for (abi.encode(uint256 gasToBurn)) out of verificationGasLimit: v0.6's
 * one limit for validation and postOp alike.
 */
contract PostOpPaymasterV06 {
    address public immutable entryPoint;
    uint256 public postOps;

    constructor(address entryPoint_) {
        entryPoint = entryPoint_;
    }

    function validatePaymasterUserOp(UserOpV06 calldata op, bytes32, uint256)
        external
        view
        returns (bytes memory context, uint256 validationData)
    {
        require(msg.sender == entryPoint, "not from EntryPoint");
        uint256 burn = op.paymasterAndData.length >= 52 ? uint256(bytes32(op.paymasterAndData[20:52])) : 0;
        return (abi.encode(burn), 0);
    }

    function postOp(uint8, bytes calldata context, uint256) external {
        require(msg.sender == entryPoint, "not from EntryPoint");
        uint256 burn = abi.decode(context, (uint256));
        uint256 start = gasleft();
        uint256 x;
        while (start - gasleft() < burn) {
            x = uint256(keccak256(abi.encode(x)));
        }
        postOps += 1 + (x & 0);
    }

    function stake(uint32 unstakeDelaySec) external payable {
        IStakeManagerLike(entryPoint).addStake{value: msg.value}(unstakeDelaySec);
    }

    function deposit() external payable {
        IStakeManagerLike(entryPoint).depositTo{value: msg.value}(address(this));
    }
}

/**
 * v0.9: checks a paymaster signature that travels outside the userOpHash (paymasterAndData's
 * `signature ‖ uint16 length ‖ magic` suffix): an ECDSA signature by `signer` over the userOpHash.
 * paymasterData (the signed part) may carry abi.encodePacked(uint48 validUntil, uint48 validAfter),
 * returned as they are: block numbers when their top bits are set.
 */
contract SignaturePaymasterV09 {
    address public immutable entryPoint;
    address public immutable signer;
    bytes8 private constant MAGIC = 0x22e325a297439656;

    constructor(address entryPoint_, address signer_) {
        entryPoint = entryPoint_;
        signer = signer_;
    }

    function validatePaymasterUserOp(PackedUserOp calldata op, bytes32 userOpHash, uint256)
        external
        view
        returns (bytes memory context, uint256 validationData)
    {
        require(msg.sender == entryPoint, "not from EntryPoint");
        bytes calldata pmd = op.paymasterAndData;
        uint256 len = pmd.length;
        bool signed = len >= 62 && bytes8(pmd[len - 8:len]) == MAGIC;
        uint256 sigLen = signed ? uint16(bytes2(pmd[len - 10:len - 8])) : 0;
        uint256 dataEnd = signed ? len - 10 - sigLen : len;
        if (dataEnd - 52 >= 12) {
            uint48 validUntil = uint48(bytes6(pmd[52:58]));
            uint48 validAfter = uint48(bytes6(pmd[58:64]));
            validationData = (uint256(validUntil) << 160) | (uint256(validAfter) << 208);
        }
        if (sigLen != 65 || recover(userOpHash, pmd[dataEnd:dataEnd + 65]) != signer) validationData |= 1;
        return ("", validationData);
    }

    function postOp(uint8, bytes calldata, uint256, uint256) external pure {}

    function deposit() external payable {
        IStakeManagerLike(entryPoint).depositTo{value: msg.value}(address(this));
    }

    function recover(bytes32 hash, bytes calldata sig) private pure returns (address) {
        bytes32 r = bytes32(sig[0:32]);
        bytes32 s = bytes32(sig[32:64]);
        uint8 v = uint8(sig[64]);
        return ecrecover(hash, v, r, s);
    }
}
