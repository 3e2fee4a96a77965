"""A ballot asks the token for a record date, and the token takes one at a time: a ballot created while another
record date of the token is still being sent (a distribution's, not yet confirmed) is refused with the reason
before anything is queued, instead of being sent and refused by the token."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone

from core.errors import Conflict
from governance.models import Ballot
from governance.services.ballots import BallotInput, ballot_create
from governance.tests.support import soon
from registry.tests.conftest import Closed
from tokens.models import ChainTransaction, TxStatus
from tokens.services import token_record_date_schedule
from tokens.tests.support import drain

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


def test_a_ballot_created_while_a_distributions_record_date_is_still_being_sent_is_refused(
    closed: Closed, cast
) -> None:
    record_at = soon()
    # What declaring a distribution asks of the token (distributions.services.declaring), not sent yet.
    token_record_date_schedule(
        owner_ref=closed.offering.owner_ref,
        timestamp=int(record_at.timestamp()) + 3600,
        idempotency_key=f"distribution:{settings.CHAIN_ID}:test:record-date",
        actor=cast.admin,
    )
    rows = ChainTransaction.objects.count()
    with pytest.raises(Conflict) as refused:
        ballot_create(
            issuer=cast.issuer,
            offering=closed.offering,
            actor=cast.admin,
            data=BallotInput(
                question="Approve the 2027 budget?",
                options=["For", "Against"],
                record_at=record_at,
                opens_at=record_at,
                closes_at=record_at + dt.timedelta(days=7),
                quorum_bps=5_000,
            ),
        )
    assert refused.value.code == "record_date_pending"
    ahead = dt.datetime.fromtimestamp(int(record_at.timestamp()) + 3600, tz=dt.UTC)
    assert f"{timezone.localtime(ahead):%d %B %Y %H:%M}" in refused.value.message
    assert not Ballot.objects.exists() and ChainTransaction.objects.count() == rows
    drain()
    assert not ChainTransaction.objects.filter(status=TxStatus.FAILED).exists()
