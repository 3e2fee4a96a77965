// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Unrestricted OpenZeppelin 5 ERC-20, the baseline the gas benchmark compares against.
/// Test only: anyone may mint.
contract PlainERC20 is ERC20 {
    constructor() ERC20("Plain", "PLN") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// The naive batch: one _mint per holder.
    function batchMint(address[] calldata toList, uint256[] calldata amounts) external {
        for (uint256 i; i < toList.length; ++i) {
            _mint(toList[i], amounts[i]);
        }
    }
}
