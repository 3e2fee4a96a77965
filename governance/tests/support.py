"""Building ballots in tests: created with a record date just ahead, then carried past it."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from core.models import User
from governance.models import Ballot
from governance.services.ballots import BallotInput, ballot_create, ballot_power_read
from registry.tests.conftest import Closed
from tokens.selectors import chain_head_time
from tokens.tests.support import Chain, chain_indexed, contract_send, drain


def soon() -> dt.datetime:
    """Ten minutes ahead of the later of the two clocks (anvil's may run behind or ahead of the portal's)."""
    return (max(timezone.now(), chain_head_time()) + dt.timedelta(minutes=10)).replace(microsecond=0)


def ballot_created(closed: Closed, actor: User, *, quorum_bps: int = 5_000, options: int = 2) -> Ballot:
    record_at = soon()
    ballot = ballot_create(
        issuer=closed.offering.issuer,
        offering=closed.offering,
        actor=actor,
        data=BallotInput(
            question="Approve the 2027 budget?",
            options=["For", "Against", "Abstain"][:options],
            record_at=record_at,
            opens_at=record_at,
            closes_at=record_at + dt.timedelta(days=7),
            quorum_bps=quorum_bps,
        ),
    )
    drain()  # the token schedules the record date
    return ballot


def past_the_record_date(closed: Closed, ballot: Ballot, *, mine: bool = True) -> None:
    """The next block is made one second after the record date (now, or with the next transaction)."""
    chain = Chain(rpc_url=closed.rpc_url)
    chain.rpc("evm_setNextBlockTimestamp", [int(ballot.record_at.timestamp()) + 1])
    if mine:
        chain.rpc("evm_mine")


def transfer(closed: Closed, sender: str, to: str, amount: int) -> None:
    receipt = contract_send(closed.rpc_url, sender, closed.token.address, "SecurityToken", "transfer", to, amount)
    assert receipt["status"] == 1


def indexed(closed: Closed) -> None:
    drain()
    chain_indexed(closed.rpc_url)


def voting_opened(ballot: Ballot) -> Ballot:
    """The portal's clock reaches the opening: the ballot's times move back to open it now."""
    span = ballot.closes_at - ballot.opens_at
    opens = timezone.now() - dt.timedelta(minutes=1)
    Ballot.objects.filter(pk=ballot.pk).update(opens_at=opens, closes_at=opens + span)
    ballot.refresh_from_db()
    return ballot


def voting_closed(ballot: Ballot) -> Ballot:
    """The portal's clock passes the close."""
    closes = timezone.now() - dt.timedelta(seconds=1)
    Ballot.objects.filter(pk=ballot.pk).update(opens_at=closes - dt.timedelta(days=1), closes_at=closes)
    ballot.refresh_from_db()
    return ballot


def ballot_ready(closed: Closed, actor: User, **kwargs: object) -> Ballot:
    """A ballot whose record date has passed (no tokens moved), its voting power read and voting open."""
    ballot = ballot_created(closed, actor, **kwargs)  # type: ignore[arg-type]
    past_the_record_date(closed, ballot)
    indexed(closed)
    return voting_opened(ballot_power_read(ballot=ballot, actor=actor))
