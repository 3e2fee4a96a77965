"""The token takes one record date at a time, whoever asks for it: a distribution declared while another record
date of the token is ahead (a ballot's, still in the outbox or already on-chain) is refused with the reason before
anything is sent, instead of being sent and refused by the token; once that date has passed it goes through."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone

from core.errors import Conflict
from distributions.models import Distribution
from distributions.services.declaring import distribution_declare
from distributions.tests.support import declaration
from registry.tests.conftest import Closed
from tokens.models import ChainTransaction, TxStatus
from tokens.selectors import chain_head_time
from tokens.services import token_record_date_schedule
from tokens.tests.support import Chain, drain

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


def _soon(minutes: int = 10) -> dt.datetime:
    return (max(timezone.now(), chain_head_time()) + dt.timedelta(minutes=minutes)).replace(microsecond=0)


def _ballot_record_date(closed: Closed, record_at: dt.datetime, actor) -> ChainTransaction:
    """What creating a ballot asks of the token (governance.services.ballots.ballot_create)."""
    return token_record_date_schedule(
        owner_ref=closed.offering.owner_ref,
        timestamp=int(record_at.timestamp()),
        idempotency_key=f"ballot:{settings.CHAIN_ID}:test:record-date",
        actor=actor,
        purpose="Record date (ballot)",
    )


def _declare(closed: Closed, cast, record_at: dt.datetime) -> Distribution:
    return distribution_declare(
        issuer=cast.issuer, offering=closed.offering, actor=cast.admin, data=declaration(record_at=record_at)
    )


@pytest.mark.parametrize("sent", [False, True], ids=["ballot-record-date-in-the-outbox", "ballot-record-date-on-chain"])
def test_a_distribution_declared_while_a_ballots_record_date_is_ahead_is_refused_before_anything_is_sent(
    closed: Closed, cast, sent: bool
) -> None:
    ballot_at = _soon()
    _ballot_record_date(closed, ballot_at, cast.admin)
    if sent:
        drain()
    rows = ChainTransaction.objects.count()

    with pytest.raises(Conflict) as refused:
        _declare(closed, cast, _soon(30))
    assert refused.value.code == "record_date_pending"
    assert f"{timezone.localtime(ballot_at):%d %B %Y %H:%M}" in refused.value.message
    assert not Distribution.objects.exists()
    assert ChainTransaction.objects.count() == rows  # nothing was queued for the token to refuse
    drain()  # and the ballot's own record date goes through
    assert not ChainTransaction.objects.filter(status=TxStatus.FAILED).exists()


def test_once_the_ballots_record_date_has_passed_the_distribution_schedules_its_own(closed: Closed, cast) -> None:
    ballot_at = _soon()
    _ballot_record_date(closed, ballot_at, cast.admin)
    drain()
    chain = Chain(rpc_url=closed.rpc_url)
    chain.rpc("evm_setNextBlockTimestamp", [int(ballot_at.timestamp()) + 1])
    chain.rpc("evm_mine")

    distribution = _declare(closed, cast, _soon())
    drain()
    assert distribution.record_transaction is not None
    distribution.record_transaction.refresh_from_db()
    assert distribution.record_transaction.status == TxStatus.CONFIRMED
