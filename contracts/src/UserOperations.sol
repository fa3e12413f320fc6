// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

// The op structs the project's test contracts take from the EntryPoints.

/** EntryPoint v0.6's UserOperation. */
struct UserOpV06 {
    address sender;
    uint256 nonce;
    bytes initCode;
    bytes callData;
    uint256 callGasLimit;
    uint256 verificationGasLimit;
    uint256 preVerificationGas;
    uint256 maxFeePerGas;
    uint256 maxPriorityFeePerGas;
    bytes paymasterAndData;
    bytes signature;
}

/** EntryPoint v0.7+'s PackedUserOperation. */
struct PackedUserOp {
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
