// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @notice DistributionPayout with one storage flag per (distribution, line) instead of a bitmap:
/// the design the gas benchmark compares against. Test only.
contract PayoutByMapping is AccessControl {
    using SafeERC20 for IERC20;

    bytes32 public constant AGENT_ROLE = keccak256("AGENT_ROLE");

    IERC20 public immutable stablecoin;
    address public immutable treasury;
    mapping(bytes32 lineKey => bool) public paidLine;

    event LinePaid(bytes32 indexed distributionId, address indexed payee, uint256 line, uint256 amount);
    event LineSkipped(bytes32 indexed distributionId, uint256 line);

    constructor(IERC20 stablecoin_, address treasury_, address agent) {
        stablecoin = stablecoin_;
        treasury = treasury_;
        _grantRole(DEFAULT_ADMIN_ROLE, agent);
        _grantRole(AGENT_ROLE, agent);
    }

    function pay(
        bytes32 distributionId,
        uint256[] calldata lines,
        address[] calldata payees,
        uint256[] calldata amounts
    ) external onlyRole(AGENT_ROLE) returns (uint256 paid) {
        for (uint256 i; i < lines.length; ++i) {
            bytes32 key = keccak256(abi.encode(distributionId, lines[i]));
            if (paidLine[key]) {
                emit LineSkipped(distributionId, lines[i]);
                continue;
            }
            paidLine[key] = true;
            stablecoin.safeTransferFrom(treasury, payees[i], amounts[i]);
            emit LinePaid(distributionId, payees[i], lines[i], amounts[i]);
            ++paid;
        }
    }
}
