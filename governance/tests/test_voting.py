"""Ballots on a real anvil: the voting power is each investor's balance at the record date across all their
wallets, whatever moves after it; one vote per investor, changeable until the close and counted once; a vote
signed (EIP-712) by a wallet that held none of the investor's units is refused; after the close nothing changes."""

from __future__ import annotations

import time

import pytest

from core.errors import ApplicationError, Conflict, NotPermitted
from core.models import AuditEvent
from governance.models import Ballot, BallotOption, BallotState, Vote, VoteChannel, VotingPower
from governance.services.ballots import DueSummary, ballot_close, ballot_power_read, ballots_due_advance
from governance.services.voting import vote_cast, vote_cast_signed, vote_message
from governance.tests.support import (
    ballot_created,
    ballot_ready,
    indexed,
    past_the_record_date,
    transfer,
    voting_closed,
    voting_opened,
)
from registry.tests.conftest import Closed
from tokens.tests.support import WALLETS, dev_key, typed_data_sign

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


def _nonce() -> int:
    return time.time_ns() // 1_000_000


def test_voting_power_is_the_record_date_balance_across_an_investors_wallets_whatever_moves_after(
    closed: Closed, cast
) -> None:
    transfer(closed, WALLETS[0], WALLETS[1], 50)  # Alice spreads her 200 over her two wallets before the record
    ballot = ballot_created(closed, cast.admin, quorum_bps=6_000)
    with pytest.raises(ApplicationError) as ahead:
        ballot_power_read(ballot=ballot, actor=cast.admin)
    assert ahead.value.code == "record_ahead"

    past_the_record_date(closed, ballot, mine=False)
    transfer(closed, WALLETS[0], WALLETS[3], 150)  # Alice sells 150 to Carol in the block after the record
    transfer(closed, WALLETS[2], WALLETS[4], 100)  # and Bob 100 to Carol's other wallet
    indexed(closed)
    ballot = voting_opened(ballot_power_read(ballot=ballot, actor=cast.admin))

    assert ballot.state == BallotState.READY and ballot.record_id is not None
    powers = {p.investor_id: p for p in VotingPower.objects.filter(ballot=ballot)}
    assert set(powers) == {closed.alice.pk, closed.bob.pk}  # Carol bought after the record date: no vote
    assert powers[closed.alice.pk].power == 200 and sorted(powers[closed.alice.pk].wallets) == sorted(WALLETS[:2])
    assert powers[closed.bob.pk].power == 300
    assert (ballot.total_power, ballot.holders) == (500, 2)

    with pytest.raises(NotPermitted) as carol:
        vote_cast(ballot=ballot, investor=closed.carol, option=1, actor=closed.carol.user)
    assert carol.value.code == "no_voting_power"

    vote_cast(ballot=ballot, investor=closed.alice, option=1, actor=closed.alice.user)
    vote_cast(ballot=ballot, investor=closed.bob, option=2, actor=closed.bob.user)
    closed_ballot = ballot_close(ballot=voting_closed(ballot), actor=cast.admin)

    tally = {o.position: (o.power, o.holders) for o in BallotOption.objects.filter(ballot=closed_ballot)}
    assert tally == {1: (200, 1), 2: (300, 1)}  # record-date balances, not today's 50 and 200
    assert (closed_ballot.power_voted, closed_ballot.holders_voted) == (500, 2)
    assert closed_ballot.quorum_met is True
    assert AuditEvent.objects.filter(action="ballot.closed", object_id=str(closed_ballot.pk)).exists()


def test_a_vote_changed_before_the_close_counts_once_with_the_last_choice(closed: Closed, cast) -> None:
    ballot = ballot_ready(closed, cast.admin, quorum_bps=5_000)
    vote_cast(ballot=ballot, investor=closed.alice, option=1, actor=closed.alice.user)
    changed = vote_cast(ballot=ballot, investor=closed.alice, option=2, actor=closed.alice.user)

    assert Vote.objects.filter(ballot=ballot, investor=closed.alice).count() == 1 and changed.changes == 1
    audit = AuditEvent.objects.get(action="ballot.vote_changed", object_id=str(changed.pk))
    assert audit.before is not None and audit.after is not None
    assert audit.before["option"] == "For" and audit.after["option"] == "Against"
    result = ballot_close(ballot=voting_closed(ballot), actor=cast.admin)
    tally = {o.position: (o.power, o.holders) for o in BallotOption.objects.filter(ballot=result)}
    assert tally == {1: (0, 0), 2: (200, 1)}
    # 200 of 500 voted: 40% falls short of a 50% quorum.
    assert (result.power_voted, result.holders_voted, result.quorum_met) == (200, 1, False)


def test_after_the_close_a_vote_is_refused_and_the_tally_stays_as_counted(closed: Closed, cast) -> None:
    ballot = ballot_ready(closed, cast.admin)
    vote_cast(ballot=ballot, investor=closed.bob, option=1, actor=closed.bob.user)
    ballot = voting_closed(ballot)
    with pytest.raises(Conflict) as late:
        vote_cast(ballot=ballot, investor=closed.alice, option=2, actor=closed.alice.user)
    assert late.value.code == "ballot_closed"
    assert ballots_due_advance() == DueSummary(power_read=0, closed=1)  # the clock counts it
    result = Ballot.objects.get(pk=ballot.pk)
    assert result.state == BallotState.CLOSED
    with pytest.raises(Conflict):
        vote_cast(ballot=result, investor=closed.bob, option=2, actor=closed.bob.user)
    again = ballot_close(ballot=result, actor=cast.admin)
    assert (again.power_voted, again.holders_voted, again.closed_at) == (300, 1, result.closed_at)
    assert Vote.objects.get(ballot=ballot, investor=closed.bob).option.position == 1


def test_a_vote_signed_with_the_investors_wallet_counts_and_one_signed_by_another_wallet_is_refused(
    closed: Closed, cast
) -> None:
    ballot = ballot_ready(closed, cast.admin)
    nonce = _nonce()
    # Bob's wallet signs a vote that Alice sends as hers: refused, and the message names the wallets that may sign.
    forged = typed_data_sign(vote_message(ballot=ballot, option=2, nonce=nonce), dev_key(WALLETS[2]))
    with pytest.raises(NotPermitted) as refused:
        vote_cast_signed(
            ballot=ballot, investor=closed.alice, option=2, nonce=nonce, signature=forged, actor=closed.alice.user
        )
    assert refused.value.code == "signer_not_holder"
    assert WALLETS[2] in refused.value.message and WALLETS[0] in refused.value.message
    assert not Vote.objects.filter(ballot=ballot).exists()

    # A signature over another option than the one sent recovers another address: refused the same way.
    other = typed_data_sign(vote_message(ballot=ballot, option=1, nonce=nonce), dev_key(WALLETS[0]))
    with pytest.raises(NotPermitted):
        vote_cast_signed(
            ballot=ballot, investor=closed.alice, option=2, nonce=nonce, signature=other, actor=closed.alice.user
        )

    # Her second wallet is linked to her but held nothing at the record date: it carries no vote either.
    empty = typed_data_sign(vote_message(ballot=ballot, option=2, nonce=nonce), dev_key(WALLETS[1]))
    with pytest.raises(NotPermitted):
        vote_cast_signed(
            ballot=ballot, investor=closed.alice, option=2, nonce=nonce, signature=empty, actor=closed.alice.user
        )

    # Alice signs with the wallet that held her units at the record date: counted with all her power.
    signed = typed_data_sign(vote_message(ballot=ballot, option=2, nonce=nonce), dev_key(WALLETS[0]))
    vote = vote_cast_signed(
        ballot=ballot, investor=closed.alice, option=2, nonce=nonce, signature=signed, actor=closed.alice.user
    )
    assert (vote.channel, vote.signer_wallet, vote.power, vote.option.position) == (
        VoteChannel.SIGNED,
        WALLETS[0],
        200,
        2,
    )
    # The same signature again is a replay: refused.
    with pytest.raises(Conflict) as replay:
        vote_cast_signed(
            ballot=ballot, investor=closed.alice, option=2, nonce=nonce, signature=signed, actor=closed.alice.user
        )
    assert replay.value.code == "nonce_reused"
    assert AuditEvent.objects.filter(action="ballot.vote_cast", object_id=str(vote.pk)).count() == 1
