"""The ballot pages on a real anvil: an admin creates a ballot and reads its voting power, two holders vote
(one in the portal, one by a signed message after a refused signature from another wallet), the admin
counts the votes, and the result shows to the admins, read-only to the transfer agent and to the holders;
other issuers' admins and investors who held nothing see nothing. The result exports through the registry."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.models import AuditEvent
from governance.models import Ballot, Vote
from governance.services.voting import vote_message
from governance.tests.support import indexed, past_the_record_date, soon, voting_closed, voting_opened
from registry.exporters import exporter_get
from registry.exporters.base import ExportParams
from registry.tests.conftest import Closed
from tokens.tests.support import WALLETS, dev_key, typed_data_sign

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_a_ballot_is_created_two_holders_vote_and_the_result_shows_to_those_who_may_see_it(
    closed: Closed, cast
) -> None:
    admin = _client(cast.admin)
    record_at = soon() + dt.timedelta(minutes=1)
    form = {
        "offering": closed.offering.pk,
        "question": "Elect Dana Reyes to the board?",
        "options": "For\nAgainst\n",
        "record_at": _local(record_at),
        "opens_at": _local(record_at),
        "closes_at": _local(record_at + dt.timedelta(days=3)),
        "quorum": "60",
    }
    too_few = admin.post(reverse("ballot_create", args=[cast.issuer.slug]), {**form, "options": "For"})
    assert too_few.status_code == 200 and "A ballot needs at least two options." in too_few.content.decode()

    created = admin.post(reverse("ballot_create", args=[cast.issuer.slug]), form)
    assert created.status_code == 302
    ballot = Ballot.objects.get(offering=closed.offering)
    symbol = closed.offering.token_symbol
    assert ballot.quorum_bps == 6_000 and [o.label for o in ballot.options.all()] == ["For", "Against"]
    assert AuditEvent.objects.filter(action="ballot.created", object_id=str(ballot.pk)).exists()
    detail = reverse("ballot_detail", args=[cast.issuer.slug, ballot.public_id])
    indexed(closed)  # the token schedules the record date

    power = reverse("ballot_power_read", args=[cast.issuer.slug, ballot.public_id])
    early = admin.post(power, follow=True)
    assert "has not passed on the chain yet" in early.content.decode()
    past_the_record_date(closed, ballot)
    indexed(closed)
    assert _client(cast.agent).post(power).status_code == 403  # the transfer agent changes nothing
    admin.post(power)
    ballot = voting_opened(Ballot.objects.get(pk=ballot.pk))
    assert (ballot.total_power, ballot.holders) == (500, 2)
    page = admin.get(detail).content.decode()
    assert "0 of 2 holders have voted" in page and f"The quorum needs 300 {symbol}" in page

    # Alice votes in the portal; the Votes list offers her the ballot first.
    alice = _client(closed.alice.user)
    assert "Elect Dana Reyes" in alice.get(reverse("investor_votes")).content.decode()
    mine = reverse("investor_ballot", args=[ballot.public_id])
    assert alice.post(mine, {"option": "1"}).status_code == 302
    assert "Your vote: For" in alice.get(mine).content.decode()

    # Bob signs with Alice's wallet: refused in words; then with his own wallet: counted.
    bob = _client(closed.bob.user)
    signed_url = reverse("api_ballot_signed_vote", args=[ballot.public_id])
    nonce = time.time_ns() // 1_000_000
    message = bob.get(reverse("api_ballot_vote_message", args=[ballot.public_id]), {"option": 2}).json()
    assert message["typed_data"]["message"]["ballot"] == str(ballot.public_id) and message["wallets"] == [WALLETS[2]]
    wrong = typed_data_sign(vote_message(ballot=ballot, option=2, nonce=nonce), dev_key(WALLETS[0]))
    refused = bob.post(signed_url, {"option": 2, "nonce": nonce, "signature": wrong}, content_type="application/json")
    assert refused.status_code == 403
    assert "which held none of your" in refused.json()["error"]["message"]
    right = typed_data_sign(vote_message(ballot=ballot, option=2, nonce=nonce), dev_key(WALLETS[2]))
    counted = bob.post(signed_url, {"option": 2, "nonce": nonce, "signature": right}, content_type="application/json")
    assert counted.status_code == 201 and counted.json()["power"] == 300

    # Carol held nothing at the record date: the ballot is not hers to see.
    carol = _client(closed.carol.user)
    assert carol.get(mine).status_code == 404
    assert "Elect Dana Reyes" not in carol.get(reverse("investor_votes")).content.decode()

    voting_closed(ballot)
    late = alice.post(mine, {"option": "2"})
    assert late.status_code == 200 and Vote.objects.get(ballot=ballot, investor=closed.alice).option.position == 1
    admin.post(reverse("ballot_close", args=[cast.issuer.slug, ballot.public_id]))

    result = admin.get(detail).content.decode()
    assert f"500 of 500 {symbol} voted (100.00%), by 2 of 2 holders" in result and "<strong>met</strong>" in result
    assert "chart.umd.min.js" in result and 'id="ballot-chart-data"' in result
    agent_view = _client(cast.agent).get(detail)
    assert agent_view.status_code == 200 and "Count the votes" not in agent_view.content.decode()
    assert _client(cast.other_admin).get(detail).status_code == 403
    assert f"500 of 500 {symbol} voted" in alice.get(mine).content.decode()

    rows = list(exporter_get("ballot_result").rows(closed.offering, ExportParams(ballot=ballot.public_id)))
    assert [r[1:8] for r in rows[:2]] == [
        ("option", "", "For", "", 200, 1, "40.00%"),
        ("option", "", "Against", "", 300, 1, "60.00%"),
    ]
    assert rows[2][1] == "turnout" and rows[2][5:7] == (500, 2)
    assert sorted((r[4], r[5]) for r in rows[3:]) == [("Against", 300), ("For", 200)]
