// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

/// The two agent functions of a SecurityToken the burner calls.
interface IRedeemableToken {
    function unfreezePartialTokens(address wallet, uint256 amount) external;
    function burn(address from, uint256 amount) external;
}

/// @title RedemptionBurner
/// @notice Cancels the units of redemption requests at a dealing day. A request's units were frozen in the
/// holder's wallet when the holder asked; for each line not redeemed yet this releases exactly that amount and
/// burns it in the same call, so the units never move in between, and it keeps one bit per (dealing day, line)
/// so a batch sent twice, signed again at another nonce or mined again after a reorg burns a line at most once.
/// It holds the agent role of the tokens it serves (granted by each token's admin); only its own agents call it.
contract RedemptionBurner is AccessControl {
    bytes32 public constant AGENT_ROLE = keccak256("AGENT_ROLE");

    /// dealing day id => word number => bits of lines word*256 .. word*256+255 that are redeemed.
    mapping(bytes32 dealingId => mapping(uint256 word => uint256 bits)) private _redeemed;

    event LineRedeemed(
        bytes32 indexed dealingId, address indexed token, address indexed holder, uint256 line, uint256 amount
    );
    /// A line of this batch was redeemed before (by an earlier or duplicate batch): nothing was burned.
    event RedemptionSkipped(bytes32 indexed dealingId, uint256 line);

    error ZeroAddress();
    error LengthMismatch();
    error LinesNotAscending(uint256 previous, uint256 line);

    constructor(address admin, address agent) {
        if (admin == address(0)) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        if (agent != address(0)) _grantRole(AGENT_ROLE, agent);
    }

    /// @notice Unfreeze and burn each line not redeemed yet; lines in strictly ascending order. Returns how many
    /// were burned. Reverts as a whole when the token refuses one (nothing of the batch is burned).
    function redeem(
        IRedeemableToken token,
        bytes32 dealingId,
        uint256[] calldata lines,
        address[] calldata holders,
        uint256[] calldata amounts
    ) external onlyRole(AGENT_ROLE) returns (uint256 burned) {
        uint256 n = lines.length;
        if (holders.length != n || amounts.length != n) revert LengthMismatch();
        for (uint256 i; i < n; ++i) {
            if (i != 0 && lines[i] <= lines[i - 1]) revert LinesNotAscending(lines[i - 1], lines[i]);
            if (_redeemOne(token, dealingId, lines[i], holders[i], amounts[i])) ++burned;
        }
    }

    /// @dev Sets the line's bit, then releases and burns its units; false (and nothing burned) when it was set.
    function _redeemOne(IRedeemableToken token, bytes32 dealingId, uint256 line, address holder, uint256 amount)
        private
        returns (bool)
    {
        mapping(uint256 => uint256) storage bitsOf = _redeemed[dealingId];
        uint256 word = line >> 8;
        uint256 mask = 1 << (line & 255);
        uint256 bits = bitsOf[word];
        if (bits & mask != 0) {
            emit RedemptionSkipped(dealingId, line);
            return false;
        }
        // Recorded before the calls (checks-effects-interactions); a refused call reverts both.
        bitsOf[word] = bits | mask;
        token.unfreezePartialTokens(holder, amount);
        token.burn(holder, amount);
        emit LineRedeemed(dealingId, address(token), holder, line, amount);
        return true;
    }

    function isRedeemed(bytes32 dealingId, uint256 line) external view returns (bool) {
        return _redeemed[dealingId][line >> 8] & (1 << (line & 255)) != 0;
    }

    /// @notice `count` words of a dealing day's redeemed bits from `firstWord` on (bit j of word w is line w*256+j).
    function redeemedWords(bytes32 dealingId, uint256 firstWord, uint256 count)
        external
        view
        returns (uint256[] memory words)
    {
        words = new uint256[](count);
        mapping(uint256 => uint256) storage bitsOf = _redeemed[dealingId];
        for (uint256 i; i < count; ++i) {
            words[i] = bitsOf[firstWord + i];
        }
    }
}
