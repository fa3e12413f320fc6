// SPDX-License-Identifier: MIT
pragma solidity ^0.8.23;

/// Stands in for Arbitrum Nitro's NodeInterface (0x...C8) in tests. The real NodeInterface is a
/// virtual contract served by the Nitro node itself, so it cannot run on anvil: this contract is
/// placed at its address and implements gasEstimateL1Component with Arbitrum's published formula:
///   posterCost = l1BaseFeeEstimate * 16 * (compressed size + 140)
///   gasEstimateForL1 = posterCost * 110% / block.basefee
/// Brotli cannot run on chain: the uncompressed size is used (an upper bound of the compressed one).
/// l1BaseFeeEstimate lives in storage slot 0 so tests set it with anvil_setStorageAt.
contract ArbitrumNodeInterfaceFormula {
    uint256 public l1BaseFeeEstimate;

    function gasEstimateL1Component(address, bool, bytes calldata data)
        external
        payable
        returns (uint64 gasEstimateForL1, uint256 baseFee, uint256 l1Estimate)
    {
        baseFee = block.basefee;
        l1Estimate = l1BaseFeeEstimate;
        uint256 posterCost = l1Estimate * 16 * (data.length + 140);
        uint256 padded = (posterCost * 11000) / 10000;
        gasEstimateForL1 = baseFee == 0 ? 0 : uint64(padded / baseFee);
    }
}
