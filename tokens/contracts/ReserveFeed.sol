// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {AggregatorV3Interface} from "./AggregatorV3Interface.sol";

/// @title ReserveFeed
/// @notice The reserves backing one token, as attested, in Chainlink's AggregatorV3Interface shape.
/// Only an attestor publishes: each report is a new round (ids 1, 2, 3, ...), its answer the reserve
/// in `decimals` decimal places of the reserve unit, never negative. A round's `updatedAt` (and
/// `startedAt`) is the moment the attestation speaks for (its as-of time), not the block that carried
/// it: a mint guard that checks `updatedAt` then stops mints when the attestation is old, however
/// recently it was posted. As-of times never go back; a report for the same moment supersedes.
contract ReserveFeed is AggregatorV3Interface, AccessControl {
    bytes32 public constant ATTESTOR_ROLE = keccak256("ATTESTOR_ROLE");
    uint256 public constant version = 1;

    uint8 public immutable decimals;
    string private _description;

    /// roundId (80 bits) | asOf (40 bits) << 80 | answer (128 bits, non-negative) << 128: one slot to read.
    uint256 private _latest;
    mapping(uint80 roundId => uint256 packed) private _rounds;

    /// Chainlink's AggregatorInterface events, so feed watchers read ours as they read theirs.
    event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);
    event NewRound(uint256 indexed roundId, address indexed startedBy, uint256 startedAt);

    error ZeroAddress();
    error NegativeReserve(int256 answer);
    error ReserveTooLarge(int256 answer);
    error AsOfInFuture(uint256 asOf, uint256 blockTime);
    error AsOfBeforeLatest(uint256 asOf, uint256 latestAsOf);
    error NoRound(uint80 roundId);

    constructor(uint8 decimals_, string memory description_, address admin, address attestor) {
        if (admin == address(0)) revert ZeroAddress();
        decimals = decimals_;
        _description = description_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        if (attestor != address(0)) _grantRole(ATTESTOR_ROLE, attestor);
    }

    function description() external view returns (string memory) {
        return _description;
    }

    /// @notice Publish an attested reserve as of `asOf` (unix seconds); returns the new round's id.
    function publish(int256 answer, uint256 asOf) external onlyRole(ATTESTOR_ROLE) returns (uint80 roundId) {
        if (answer < 0) revert NegativeReserve(answer);
        if (answer > type(int128).max) revert ReserveTooLarge(answer);
        if (asOf == 0 || asOf > block.timestamp) revert AsOfInFuture(asOf, block.timestamp);
        uint256 latest = _latest;
        uint256 latestAsOf = uint40(latest >> 80);
        if (asOf < latestAsOf) revert AsOfBeforeLatest(asOf, latestAsOf);
        roundId = uint80(latest) + 1;
        uint256 packed = uint256(roundId) | (asOf << 80) | (uint256(answer) << 128);
        _latest = packed;
        _rounds[roundId] = packed;
        emit NewRound(roundId, msg.sender, asOf);
        emit AnswerUpdated(answer, roundId, asOf);
    }

    function getRoundData(uint80 roundId_)
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        uint256 packed = _rounds[roundId_];
        if (packed == 0) revert NoRound(roundId_);
        return _unpack(packed);
    }

    /// @notice The latest report; all zeros before the first (updatedAt 0 reads as "no report").
    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        return _unpack(_latest);
    }

    function _unpack(uint256 packed)
        private
        pure
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        roundId = uint80(packed);
        updatedAt = uint40(packed >> 80);
        answer = int256(packed >> 128);
        return (roundId, answer, updatedAt, updatedAt, roundId);
    }
}
