"""Reads for ballots: an issuer's ballots, one ballot's progress or frozen result, and an investor's votes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from core.models import Issuer
from governance.models import Ballot, BallotOption, BallotState, Vote, VotingPower
from governance.tally import BPS, Tally
from investors.models import InvestorProfile


def ballots_of(*, issuer: Issuer) -> QuerySet[Ballot]:
    return Ballot.objects.filter(offering__issuer=issuer).select_related("offering", "created_by")


def ballot_of(*, issuer: Issuer, public_id: Any) -> Ballot | None:
    return (
        Ballot.objects.filter(offering__issuer=issuer, public_id=public_id)
        .select_related("offering__issuer", "created_by", "record_transaction")
        .first()
    )


def ballot_options(*, ballot: Ballot) -> list[BallotOption]:
    return list(BallotOption.objects.filter(ballot=ballot).order_by("position"))


def ballot_phase(ballot: Ballot, now: dt.datetime | None = None) -> str:
    """scheduled, waiting (power read, not open yet), open, counting (past the close, not counted) or closed."""
    moment = now or timezone.now()
    if ballot.state == BallotState.CLOSED:
        return "closed"
    if moment >= ballot.closes_at:
        return "counting"
    if ballot.state == BallotState.SCHEDULED:
        return "scheduled"
    return "open" if moment >= ballot.opens_at else "waiting"


@dataclass(frozen=True)
class OptionResult:
    position: int
    label: str
    power: int
    holders: int

    def share_bps(self, power_voted: int) -> int:
        return self.power * BPS // power_voted if power_voted else 0


@dataclass(frozen=True)
class BallotFigures:
    """While open: the votes so far (not broken down by option); after the close: the frozen tally."""

    options: list[OptionResult]
    tally: Tally
    final: bool


def ballot_figures(*, ballot: Ballot) -> BallotFigures:
    options = ballot_options(ballot=ballot)
    if ballot.state == BallotState.CLOSED:
        tally = Tally(
            power={o.position: o.power for o in options},
            holders={o.position: o.holders for o in options},
            power_voted=ballot.power_voted,
            holders_voted=ballot.holders_voted,
            total_power=ballot.total_power,
            quorum_bps=ballot.quorum_bps,
        )
        results = [OptionResult(o.position, o.label, o.power, o.holders) for o in options]
        return BallotFigures(options=results, tally=tally, final=True)
    so_far = Vote.objects.filter(ballot=ballot).aggregate(power=Sum("power"), holders=Count("pk"))
    tally = Tally(
        power={},
        holders={},
        power_voted=int(so_far["power"] or 0),
        holders_voted=int(so_far["holders"] or 0),
        total_power=ballot.total_power,
        quorum_bps=ballot.quorum_bps,
    )
    return BallotFigures(options=[OptionResult(o.position, o.label, 0, 0) for o in options], tally=tally, final=False)


@dataclass(frozen=True)
class InvestorBallot:
    ballot: Ballot
    power: VotingPower
    vote: Vote | None
    phase: str


def investor_ballots(*, investor: InvestorProfile) -> list[InvestorBallot]:
    """The ballots of tokens the investor held at the record date, newest first, with their current vote."""
    powers = (
        VotingPower.objects.filter(investor=investor)
        .select_related("ballot__offering__issuer")
        .order_by("-ballot__closes_at", "-ballot_id")
    )
    votes = {
        v.ballot_id: v for v in Vote.objects.filter(investor=investor).select_related("option").order_by("ballot_id")
    }
    now = timezone.now()
    return [InvestorBallot(p.ballot, p, votes.get(p.ballot_id), ballot_phase(p.ballot, now)) for p in powers]


def investor_ballot(*, investor: InvestorProfile, public_id: Any) -> InvestorBallot | None:
    power = (
        VotingPower.objects.filter(investor=investor, ballot__public_id=public_id)
        .select_related("ballot__offering__issuer")
        .first()
    )
    if power is None:
        return None
    vote = Vote.objects.filter(investor=investor, ballot=power.ballot).select_related("option").first()
    return InvestorBallot(power.ballot, power, vote, ballot_phase(power.ballot))
