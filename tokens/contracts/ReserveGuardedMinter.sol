// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {AggregatorV3Interface} from "./AggregatorV3Interface.sol";

/// The token functions the minter uses (SecurityToken's agent mint and its supply).
interface IAgentMintable {
    function totalSupply() external view returns (uint256);

    function mint(address to, uint256 amount) external;

    function batchMint(address[] calldata toList, uint256[] calldata amounts) external;
}

/// @title ReserveGuardedMinter
/// @notice Mints a token only while its reserve feed backs the supply after the mint (the Chainlink
/// Secure Mint pattern): it holds the token's agent role and refuses a mint when the latest report is
/// missing, negative, older than the staleness limit, or backs less than `totalSupply + amount`.
///
/// Backing rule: each base unit of the token needs `numerator / denominator` base units of the feed's
/// answer, checked exactly as `supplyAfter * numerator <= answer * denominator` in 512 bits. E.g. a
/// token with 0 decimals, 1 token = $1.00, a feed in cents: 100 / 1; 18 decimals against a feed with
/// 8: 1 / 10**10. A margin is part of the ratio (102 / 1 for 2% over-collateralisation in cents).
///
/// Whoever else holds the token's agent role can still mint around this contract; such a mint carries
/// no `MintChecked` event from here, which is how a reconciliation tells it apart.
contract ReserveGuardedMinter is AccessControl {
    /// Who may mint through the guard (the portal's agent sender).
    bytes32 public constant AGENT_ROLE = keccak256("AGENT_ROLE");

    IAgentMintable public immutable token;

    /// feed (160 bits) | stalenessLimit (40 bits) << 160: the slot every mint reads first.
    uint256 private _feedAndLimit;
    /// numerator (128 bits) | denominator (128 bits) << 128.
    uint256 private _ratio;

    event FeedSet(address indexed previousFeed, address indexed feed);
    event BackingRatioSet(uint256 numerator, uint256 denominator);
    event StalenessLimitSet(uint256 stalenessLimit);
    /// One per mint or batch: the round whose reserve allowed it and the supply after it.
    event MintChecked(uint80 indexed roundId, uint256 supplyAfter, uint256 backedSupply);

    error ZeroAddress();
    error LengthMismatch();
    error InvalidBackingRatio(uint256 numerator, uint256 denominator);
    error InvalidStalenessLimit(uint256 stalenessLimit);
    error NoReserveReport(address feed);
    error NegativeReserve(address feed, int256 answer);
    error ReserveStale(uint80 roundId, uint256 updatedAt, uint256 stalenessLimit, uint256 blockTime);
    error ReserveExceeded(uint80 roundId, int256 reserve, uint256 supplyAfter, uint256 backedSupply);

    constructor(
        IAgentMintable token_,
        AggregatorV3Interface feed_,
        uint256 numerator,
        uint256 denominator,
        uint256 stalenessLimit_,
        address admin,
        address agent
    ) {
        if (address(token_) == address(0) || admin == address(0)) revert ZeroAddress();
        token = token_;
        _setFeed(feed_);
        _setRatio(numerator, denominator);
        _setStalenessLimit(stalenessLimit_);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        if (agent != address(0)) _grantRole(AGENT_ROLE, agent);
    }

    // ================================================================== minting

    function mint(address to, uint256 amount) external onlyRole(AGENT_ROLE) {
        _check(amount);
        token.mint(to, amount);
    }

    /// @notice The reserve is checked once, against the batch's total.
    function batchMint(address[] calldata toList, uint256[] calldata amounts) external onlyRole(AGENT_ROLE) {
        uint256 n = toList.length;
        if (amounts.length != n) revert LengthMismatch();
        uint256 total;
        for (uint256 i; i < n; ++i) {
            total += amounts[i];
        }
        _check(total);
        token.batchMint(toList, amounts);
    }

    /// @dev Reverts unless a fresh, non-negative report backs the supply after minting `amount`.
    function _check(uint256 amount) private {
        uint256 fl = _feedAndLimit;
        AggregatorV3Interface feed_ = AggregatorV3Interface(address(uint160(fl)));
        (uint80 roundId, int256 answer,, uint256 updatedAt,) = feed_.latestRoundData();
        if (updatedAt == 0) revert NoReserveReport(address(feed_));
        if (answer < 0) revert NegativeReserve(address(feed_), answer);
        uint256 limit = fl >> 160;
        if (updatedAt < block.timestamp && block.timestamp - updatedAt > limit) {
            revert ReserveStale(roundId, updatedAt, limit, block.timestamp);
        }
        uint256 supplyAfter = token.totalSupply() + amount;
        uint256 ratio = _ratio;
        uint256 backed = _backed(uint256(answer), uint128(ratio), ratio >> 128);
        if (supplyAfter > backed) revert ReserveExceeded(roundId, answer, supplyAfter, backed);
        emit MintChecked(roundId, supplyAfter, backed);
    }

    /// @dev floor(reserve * denominator / numerator), the most supply the reserve backs; saturates at
    /// 2**256-1. `supply <= backed` is exactly `supply * numerator <= reserve * denominator`.
    function _backed(uint256 reserve, uint256 numerator, uint256 denominator) private pure returns (uint256) {
        (uint256 high,) = Math.mul512(reserve, denominator);
        if (high >= numerator) return type(uint256).max;
        return Math.mulDiv(reserve, denominator, numerator);
    }

    // ================================================================== administration

    function setFeed(AggregatorV3Interface feed_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setFeed(feed_);
    }

    function setBackingRatio(uint256 numerator, uint256 denominator) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setRatio(numerator, denominator);
    }

    function setStalenessLimit(uint256 stalenessLimit_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setStalenessLimit(stalenessLimit_);
    }

    function _setFeed(AggregatorV3Interface feed_) private {
        if (address(feed_) == address(0)) revert ZeroAddress();
        uint256 fl = _feedAndLimit;
        _feedAndLimit = (fl >> 160 << 160) | uint160(address(feed_));
        emit FeedSet(address(uint160(fl)), address(feed_));
    }

    function _setRatio(uint256 numerator, uint256 denominator) private {
        if (numerator == 0 || denominator == 0 || numerator > type(uint128).max || denominator > type(uint128).max) {
            revert InvalidBackingRatio(numerator, denominator);
        }
        _ratio = numerator | (denominator << 128);
        emit BackingRatioSet(numerator, denominator);
    }

    function _setStalenessLimit(uint256 stalenessLimit_) private {
        if (stalenessLimit_ == 0 || stalenessLimit_ > type(uint40).max) revert InvalidStalenessLimit(stalenessLimit_);
        _feedAndLimit = uint160(_feedAndLimit) | (stalenessLimit_ << 160);
        emit StalenessLimitSet(stalenessLimit_);
    }

    // ================================================================== views

    function feed() external view returns (AggregatorV3Interface) {
        return AggregatorV3Interface(address(uint160(_feedAndLimit)));
    }

    function stalenessLimit() external view returns (uint256) {
        return _feedAndLimit >> 160;
    }

    function backingRatio() external view returns (uint256 numerator, uint256 denominator) {
        uint256 ratio = _ratio;
        return (uint128(ratio), ratio >> 128);
    }

    /// @notice The most supply the latest report backs (0 before any report; not checked for staleness).
    function backedSupply() external view returns (uint256) {
        (, int256 answer,,,) = AggregatorV3Interface(address(uint160(_feedAndLimit))).latestRoundData();
        if (answer <= 0) return 0;
        uint256 ratio = _ratio;
        return _backed(uint256(answer), uint128(ratio), ratio >> 128);
    }
}
