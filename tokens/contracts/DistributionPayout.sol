// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @title DistributionPayout
/// @notice Pays the lines of distributions in one stablecoin from one treasury that approved this
/// contract, each line at most once. A line is paid or skipped as a unit with the bit that records
/// it, so a batch sent twice, signed again at another nonce, or mined again after a reorg never
/// pays a line twice. Lines are numbered per distribution; one bit per line, 256 lines a word.
contract DistributionPayout is AccessControl {
    using SafeERC20 for IERC20;

    bytes32 public constant AGENT_ROLE = keccak256("AGENT_ROLE");

    IERC20 public immutable stablecoin;
    address public immutable treasury;

    /// distribution id => word number => bits of lines word*256 .. word*256+255 that are paid.
    mapping(bytes32 distributionId => mapping(uint256 word => uint256 bits)) private _paid;

    /// The payee is indexed so a wallet finds its payments with one log filter.
    event LinePaid(bytes32 indexed distributionId, address indexed payee, uint256 line, uint256 amount);
    /// A line of this batch was paid before (by an earlier or duplicate batch): nothing was sent.
    event LineSkipped(bytes32 indexed distributionId, uint256 line);

    error ZeroAddress();
    error LengthMismatch();
    error LinesNotAscending(uint256 previous, uint256 line);
    error TreasuryShort(address treasury, uint256 balance, uint256 needed);
    error AllowanceShort(address treasury, uint256 allowance, uint256 needed);
    error LineRefused(uint256 line, address payee);

    constructor(IERC20 stablecoin_, address treasury_, address admin, address agent) {
        if (address(stablecoin_) == address(0) || treasury_ == address(0) || admin == address(0)) {
            revert ZeroAddress();
        }
        stablecoin = stablecoin_;
        treasury = treasury_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        if (agent != address(0)) _grantRole(AGENT_ROLE, agent);
    }

    /// @notice Pay each line not paid yet; lines in strictly ascending order. Returns how many were paid.
    /// Reverts as a whole, naming the line, when the stablecoin refuses one (nothing of the batch is paid).
    function pay(
        bytes32 distributionId,
        uint256[] calldata lines,
        address[] calldata payees,
        uint256[] calldata amounts
    ) external onlyRole(AGENT_ROLE) returns (uint256 paid) {
        uint256 n = lines.length;
        if (payees.length != n || amounts.length != n) revert LengthMismatch();
        _checkFunds(distributionId, lines, amounts);
        mapping(uint256 => uint256) storage bitsOf = _paid[distributionId];
        for (uint256 i; i < n; ++i) {
            uint256 line = lines[i];
            // Recorded before the transfer (checks-effects-interactions); a failed transfer reverts both.
            if (!_mark(bitsOf, line)) {
                emit LineSkipped(distributionId, line);
                continue;
            }
            address payee = payees[i];
            uint256 amount = amounts[i];
            // The line is named so the batch can be sent again without it (a payee the coin refuses).
            if (!stablecoin.trySafeTransferFrom(treasury, payee, amount)) revert LineRefused(line, payee);
            emit LinePaid(distributionId, payee, line, amount);
            ++paid;
        }
    }

    /// @dev Sets the line's bit; false when it was set already.
    function _mark(mapping(uint256 => uint256) storage bitsOf, uint256 line) private returns (bool) {
        uint256 word = line >> 8;
        uint256 mask = 1 << (line & 255);
        uint256 bits = bitsOf[word];
        if (bits & mask != 0) return false;
        bitsOf[word] = bits | mask;
        return true;
    }

    /// @dev Refuses the batch with the treasury's shortfall before anything moves, whatever the
    /// stablecoin's own error would be. The sum of every line is checked first (cheap); only when
    /// that is short are the lines already paid left out of what is needed.
    function _checkFunds(bytes32 distributionId, uint256[] calldata lines, uint256[] calldata amounts) private view {
        uint256 n = lines.length;
        uint256 total;
        for (uint256 i; i < n; ++i) {
            if (i != 0 && lines[i] <= lines[i - 1]) revert LinesNotAscending(lines[i - 1], lines[i]);
            total += amounts[i];
        }
        uint256 balance = stablecoin.balanceOf(treasury);
        uint256 allowance = stablecoin.allowance(treasury, address(this));
        if (balance >= total && allowance >= total) return;
        uint256 needed;
        mapping(uint256 => uint256) storage bitsOf = _paid[distributionId];
        for (uint256 i; i < n; ++i) {
            if (bitsOf[lines[i] >> 8] & (1 << (lines[i] & 255)) == 0) needed += amounts[i];
        }
        if (balance < needed) revert TreasuryShort(treasury, balance, needed);
        if (allowance < needed) revert AllowanceShort(treasury, allowance, needed);
    }

    function isPaid(bytes32 distributionId, uint256 line) external view returns (bool) {
        return _paid[distributionId][line >> 8] & (1 << (line & 255)) != 0;
    }

    /// @notice `count` words of a distribution's paid bits from `firstWord` on (bit j of word w is line w*256+j).
    function paidWords(bytes32 distributionId, uint256 firstWord, uint256 count) external view returns (uint256[] memory words) {
        words = new uint256[](count);
        mapping(uint256 => uint256) storage bitsOf = _paid[distributionId];
        for (uint256 i; i < count; ++i) {
            words[i] = bitsOf[firstWord + i];
        }
    }
}
