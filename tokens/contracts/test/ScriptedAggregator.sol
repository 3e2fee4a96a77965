// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AggregatorV3Interface} from "../AggregatorV3Interface.sol";

/// @notice An AggregatorV3 whose rounds are whatever a test sets: negative or zero answers, an
/// `updatedAt` of 0, in the future or before the round before it, which a real feed (and our
/// ReserveFeed) may report but never should. Test only: anyone may set a round.
contract ScriptedAggregator is AggregatorV3Interface {
    struct Round {
        int256 answer;
        uint256 updatedAt;
        bool set;
    }

    uint8 public immutable decimals;
    uint256 public constant version = 1;
    string public description;
    uint80 public latestRound;
    mapping(uint80 roundId => Round) private _rounds;

    error NoRound(uint80 roundId);

    constructor(uint8 decimals_, string memory description_) {
        decimals = decimals_;
        description = description_;
    }

    /// @notice Record round `roundId` and make it the latest.
    function setRound(uint80 roundId, int256 answer, uint256 updatedAt) external {
        _rounds[roundId] = Round(answer, updatedAt, true);
        latestRound = roundId;
    }

    function getRoundData(uint80 roundId_)
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        Round memory r = _rounds[roundId_];
        if (!r.set) revert NoRound(roundId_);
        return (roundId_, r.answer, r.updatedAt, r.updatedAt, roundId_);
    }

    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        Round memory r = _rounds[latestRound];
        return (latestRound, r.answer, r.updatedAt, r.updatedAt, latestRound);
    }
}
