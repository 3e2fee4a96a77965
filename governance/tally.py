"""Counting a ballot: per option the voting power and the holders that chose it, and turnout against quorum.

Integers only: power is in token units, quorum in basis points of the power at the record date, and a
quorum is met when power_voted / total_power >= quorum_bps / 10,000 (compared by cross-multiplying)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

BPS = 10_000


@dataclass(frozen=True)
class CastVote:
    investor_id: int
    option: int  # the option's position
    power: int


@dataclass(frozen=True)
class Tally:
    power: dict[int, int]  # option position → voting power
    holders: dict[int, int]  # option position → holders
    power_voted: int
    holders_voted: int
    total_power: int
    quorum_bps: int

    @property
    def quorum_met(self) -> bool:
        return self.total_power > 0 and self.power_voted * BPS >= self.quorum_bps * self.total_power

    @property
    def quorum_power(self) -> int:
        """The least voting power that meets the quorum (rounded up)."""
        return -(-self.quorum_bps * self.total_power // BPS)

    @property
    def turnout_bps(self) -> int:
        """Turnout in basis points, rounded down (for display; the quorum is decided exactly)."""
        return self.power_voted * BPS // self.total_power if self.total_power else 0


def tally_compute(*, votes: Iterable[CastVote], options: Iterable[int], total_power: int, quorum_bps: int) -> Tally:
    """The tally of `votes`; an investor who appears twice counts once, with their last vote."""
    latest: dict[int, CastVote] = {}
    for vote in votes:
        latest[vote.investor_id] = vote
    power = dict.fromkeys(options, 0)
    holders = dict.fromkeys(power, 0)
    for vote in latest.values():
        if vote.option not in power:
            raise ValueError(f"option {vote.option} is not on the ballot")
        power[vote.option] += vote.power
        holders[vote.option] += 1
    return Tally(
        power=power,
        holders=holders,
        power_voted=sum(v.power for v in latest.values()),
        holders_voted=len(latest),
        total_power=total_power,
        quorum_bps=quorum_bps,
    )
