// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

/// The agent functions of a SecurityToken the burner calls.
interface IRedeemableToken {
    function freezePartialTokens(address wallet, uint256 amount) external;
    function unfreezePartialTokens(address wallet, uint256 amount) external;
    function burn(address from, uint256 amount) external;
}

/// @title RedemptionBurner
/// @notice Freezes the units of redemption requests when holders ask, and cancels them at a dealing day.
/// Freezing goes in batches: each request, known by its number, is decided once (frozen, or refused by the token
/// with the token's reason), whatever sends a batch again. At the dealing day, for each line not redeemed yet it
/// releases exactly the line's amount and burns it in the same call, so the units never move in between, and it
/// keeps one bit per (dealing day, line) so a batch sent twice, signed again at another nonce or mined again
/// after a reorg burns a line at most once. It holds the agent role of the tokens it serves (granted by each
/// token's admin); only its own agents call it.
contract RedemptionBurner is AccessControl {
    bytes32 public constant AGENT_ROLE = keccak256("AGENT_ROLE");

    /// dealing day id => word number => bits of lines word*256 .. word*256+255 that are redeemed.
    mapping(bytes32 dealingId => mapping(uint256 word => uint256 bits)) private _redeemed;
    /// token => word number => bits of requests word*256 .. word*256+255 whose freeze is decided.
    mapping(address token => mapping(uint256 word => uint256 bits)) private _freezeDecided;

    event RequestFrozen(address indexed token, address indexed holder, uint256 request, uint256 amount);
    /// The token refused to freeze the request's units (its error, e.g. FreezeExceedsBalance): nothing was frozen.
    event FreezeRefused(address indexed token, address indexed holder, uint256 request, uint256 amount, bytes reason);
    /// The request's freeze was decided before (by an earlier or duplicate batch): nothing was frozen now.
    event FreezeSkipped(address indexed token, uint256 request);

    event LineRedeemed(
        bytes32 indexed dealingId, address indexed token, address indexed holder, uint256 line, uint256 amount
    );
    /// A line of this batch was redeemed before (by an earlier or duplicate batch): nothing was burned.
    event RedemptionSkipped(bytes32 indexed dealingId, uint256 line);

    error ZeroAddress();
    error LengthMismatch();
    error LinesNotAscending(uint256 previous, uint256 line);
    error RequestsNotAscending(uint256 previous, uint256 request);

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

    /// @notice Freeze each request's units in its holder's wallet unless the request's freeze is decided already;
    /// requests in strictly ascending order. A request the token refuses (its balance moved away, the wallet
    /// left the register) is decided as refused and the batch goes on; a refusal that is not the token's answer
    /// about the wallet (this contract lost its agent role, gas ran out) reverts the whole batch, deciding nothing.
    function freeze(
        IRedeemableToken token,
        uint256[] calldata requests,
        address[] calldata holders,
        uint256[] calldata amounts
    ) external onlyRole(AGENT_ROLE) returns (uint256 frozen) {
        uint256 n = requests.length;
        if (holders.length != n || amounts.length != n) revert LengthMismatch();
        for (uint256 i; i < n; ++i) {
            if (i != 0 && requests[i] <= requests[i - 1]) revert RequestsNotAscending(requests[i - 1], requests[i]);
            if (_freezeOne(token, requests[i], holders[i], amounts[i])) ++frozen;
        }
    }

    /// @dev Decides the request, then freezes its units; false when it was decided before or the token refused.
    function _freezeOne(IRedeemableToken token, uint256 request, address holder, uint256 amount)
        private
        returns (bool)
    {
        mapping(uint256 => uint256) storage bitsOf = _freezeDecided[address(token)];
        uint256 word = request >> 8;
        uint256 mask = 1 << (request & 255);
        uint256 bits = bitsOf[word];
        if (bits & mask != 0) {
            emit FreezeSkipped(address(token), request);
            return false;
        }
        bitsOf[word] = bits | mask;
        try token.freezePartialTokens(holder, amount) {
            emit RequestFrozen(address(token), holder, request, amount);
            return true;
        } catch (bytes memory reason) {
            if (!_refusalAboutWallet(reason)) {
                assembly ("memory-safe") {
                    revert(add(reason, 32), mload(reason))
                }
            }
            emit FreezeRefused(address(token), holder, request, amount, reason);
            return false;
        }
    }

    /// @dev The token's own errors about the wallet's balance or registration; anything else (no data: out of gas;
    /// AccessControl's unauthorized account) is not a decision about this request.
    function _refusalAboutWallet(bytes memory reason) private pure returns (bool) {
        if (reason.length < 4) return false;
        bytes4 selector = bytes4(reason);
        return selector != bytes4(keccak256("AccessControlUnauthorizedAccount(address,bytes32)"));
    }

    function isFreezeDecided(address token, uint256 request) external view returns (bool) {
        return _freezeDecided[token][request >> 8] & (1 << (request & 255)) != 0;
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
