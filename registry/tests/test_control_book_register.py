"""The transfer agent's control book: every authorization shows its state (in effect and who approved it,
waiting for a second admin, or declined and by whom), the units authorized count only what is in effect,
and the API walks every entry and authorization by cursor, however many there are."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse

from core.approvals import approval_reject
from core.services import api_token_create
from core.tests.support import Cast
from offerings.models import Offering
from offerings.tests.support import offering_open
from registry.models import ControlBookEntry, ControlEntryKind
from registry.services.control_book import authorization_propose
from registry.tests.support import authorized, resolution, second_admin

pytestmark = pytest.mark.django_db


@pytest.fixture
def offering(cast: Cast, settings, tmp_path) -> Offering:
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    return offering_open(cast.issuer, cast.admin)


def _raise(offering: Offering, cast: Cast, quantity: int, description: str):
    return authorization_propose(
        offering=offering,
        authorized_quantity=quantity,
        description=description,
        document=resolution(),
        authorized_on=dt.date(2026, 11, 20),
        actor=cast.admin,
    )


@pytest.fixture
def book(cast: Cast, offering: Offering):
    """1,000 in effect (approved by a second admin); a raise to 5,000 declined; a raise to 2,000 waiting."""
    finance = second_admin(cast.issuer)
    authorized(offering, 1_000, actor=cast.admin, approver=finance)
    declined = _raise(offering, cast, 5_000, "Resolution to raise to 5,000")
    approval_reject(request=declined.request, actor=finance, note="Board minutes not signed")
    _raise(offering, cast, 2_000, "Resolution to raise to 2,000")
    return finance


def _rows(html: str) -> dict[str, str]:
    """Each authorization row's description → the row's text."""
    table = html[html.index('id="authorizations"') :]
    table = table[: table.index("</table>")]
    rows = {}
    for row in re.findall(r"<tr data-state=.*?</tr>", table, flags=re.S):
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row))
        description = next(d for d in ("Class A", "5,000", "2,000", "1,000") if d in text)
        rows[description] = text
    return rows


def test_the_agents_control_book_shows_each_authorizations_state_and_who_decided_it(
    cast: Cast, offering: Offering, book
) -> None:
    agent = Client()
    agent.force_login(cast.agent)
    page = agent.get(reverse("registry_control_book", args=[offering.issuer.slug, offering.public_id]))
    assert page.status_code == 200
    html = page.content.decode()
    # Only the authorization in effect counts: neither the declined nor the waiting raise.
    assert re.search(r'id="control-authorized">1000<', html)
    rows = _rows(html)
    assert "In effect" in rows["Class A"] and f"approved by {book.email}" in rows["Class A"]
    assert "Not approved" in rows["5,000"] and f"declined by {book.email}" in rows["5,000"]
    assert "Board minutes not signed" in rows["5,000"]
    assert "Waiting for a second admin" in rows["2,000"]


def test_the_api_walks_every_control_book_entry_and_authorization_by_cursor(
    cast: Cast, offering: Offering, book
) -> None:
    ControlBookEntry.objects.bulk_create(
        ControlBookEntry(offering=offering, kind=ControlEntryKind.ISSUE, quantity=1, transaction_hash=f"0x{n:064x}")
        for n in range(1, 131)
    )
    _, secret = api_token_create(actor=cast.agent, name="sync")
    client = Client(HTTP_AUTHORIZATION=f"Token {secret}")
    summary = client.get(reverse("api_registry_control_book", args=[offering.public_id])).json()
    assert summary["authorized"] == 1_000 and summary["entries_count"] == 130

    entries, url = [], summary["entries_url"]
    while url:
        body = client.get(url).json()
        entries += body["results"]
        url = body["next"]
    assert len(entries) == 130  # not only the latest 100
    assert [e["id"] for e in entries] == sorted(e["id"] for e in entries)

    authorizations = client.get(summary["authorizations_url"]).json()["results"]
    assert [(a["authorized_quantity"], a["state"]) for a in authorizations] == [
        (1_000, "effective"),
        (5_000, "not_approved"),
        (2_000, "pending"),
    ]
    assert authorizations[1]["decided_at"] and authorizations[2]["decided_at"] is None
