"""The transfer agent's pages: they land on their registers, read the securityholder file, journal, control
book and record differences of their issuers (read-only), and make and revoke their own API tokens."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from allauth.mfa.models import Authenticator
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from compliance.exemptions import Exemption
from core.models import ApiToken, AuditEvent, Role
from core.tests.factories import MembershipFactory, UserFactory
from core.tests.support import Cast
from offerings.tests.support import offering_open
from registry.tests.conftest import RESOLUTION, Register
from tokens.tests.support import WALLETS

pytestmark = pytest.mark.django_db


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _register_url(register: Register, page: str) -> str:
    offering = register.closed.offering
    return f"/issuers/{offering.issuer.slug}/registry/{offering.public_id}/{page}/"


def test_a_transfer_agent_lands_on_the_registers_of_their_issuers(cast: Cast) -> None:
    offering = offering_open(cast.issuer, cast.admin, exemption=Exemption.REG_CF)
    client = _signed_in(cast.agent)
    home = client.get("/dashboard/")
    assert home.status_code == 302 and home["Location"] == "/registry/"
    page = client.get("/registry/").content.decode()
    assert cast.issuer.name in page and offering.title in page and "Transfer agent" in page
    for tab in ("holdings", "journal", "control-book", "differences"):
        assert f"/issuers/{cast.issuer.slug}/registry/{offering.public_id}/{tab}/" in page
    assert cast.other_issuer.name not in page
    assert "/registry/api-tokens/" in page and f"/issuers/{cast.issuer.slug}/exports/" in page
    # Issuer admins keep their dashboard and find the registers in the navigation.
    admin = _signed_in(cast.admin)
    assert admin.get("/dashboard/").status_code == 200
    assert 'href="/registry/"' in admin.get("/dashboard/").content.decode()
    assert admin.get("/registry/").status_code == 200


def test_an_issuer_without_a_published_offering_says_there_is_no_register_yet(cast: Cast) -> None:
    page = _signed_in(cast.agent).get("/registry/").content.decode()
    assert "No published offering yet" in page


@pytest.mark.chain
def test_the_register_pages_show_holdings_journal_control_book_and_differences(cast: Cast, register: Register) -> None:
    closed = register.closed
    client = _signed_in(cast.agent)

    holdings = client.get(_register_url(register, "holdings")).content.decode()
    assert closed.alice.legal_name in holdings and closed.carol.legal_name in holdings
    assert WALLETS[3] in holdings and "3 holders of record, 4 holdings" in holdings
    main = holdings.split('id="main"')[1]
    assert 'method="post"' not in main  # read-only: no form here changes anything
    then = client.get(_register_url(register, "holdings"), {"block": register.before_transfer}).content.decode()
    assert closed.carol.legal_name not in then and "2 holders of record, 2 holdings" in then
    found = client.get(_register_url(register, "holdings"), {"q": WALLETS[3]}).content.decode()
    assert closed.carol.legal_name in found and closed.alice.legal_name not in found
    nothing = client.get(_register_url(register, "holdings"), {"q": "nobody at all"}).content.decode()
    assert "No holding matches “nobody at all”" in nothing
    bad = client.get(_register_url(register, "holdings"), {"block": "-3"})
    assert bad.status_code == 200 and "greater than or equal to 0" in bad.content.decode()

    journal = client.get(_register_url(register, "journal")).content.decode()
    assert register.sale[:15] in journal and register.planted[:15] in journal
    assert "outside portal" in journal and journal.count("<tr>") == 5  # the header and four postings
    swapped = client.get(_register_url(register, "journal"), {"since": "2026-12-02", "until": "2026-12-01"})
    assert "swap the dates" in swapped.content.decode()

    book = client.get(_register_url(register, "control-book")).content.decode()
    assert re.search(r'id="control-authorized">1000<', book) and re.search(r'id="control-issued">500<', book)
    assert re.search(r'id="control-supply">540<', book) and re.search(r'id="control-ledger">540<', book)
    link = re.search(r'href="(/issuers/[^"]+/document/)"', book)
    assert link is not None
    document = client.get(link[1])
    assert document.getvalue() == RESOLUTION
    assert document["Content-Disposition"].startswith("attachment")

    differences = client.get(_register_url(register, "differences")).content.decode()
    assert "On-chain issuance or cancellation not in the control book" in differences
    assert register.planted[:15] in differences
    aged = client.get(_register_url(register, "differences"), {"state": "aged"}).content.decode()
    assert "No aged record differences." in aged

    # Issuer admins read the same pages; their compliance officer does not.
    assert _signed_in(cast.admin).get(_register_url(register, "journal")).status_code == 200
    assert _signed_in(cast.compliance).get(_register_url(register, "journal")).status_code == 403


@pytest.mark.chain
def test_a_holdings_page_costs_the_same_queries_for_one_row_as_for_all(cast: Cast, register: Register) -> None:
    client = _signed_in(cast.agent)
    url = _register_url(register, "holdings")
    counts = []
    for query in ({"q": WALLETS[3]}, {}):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url, query).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_an_agent_makes_a_token_sees_its_secret_once_and_revokes_it(cast: Cast) -> None:
    client = _signed_in(cast.agent)
    made = client.post("/registry/api-tokens/", {"name": "nightly reconciliation"})
    assert made.status_code == 200 and made["Cache-Control"] == "no-store"
    secret = re.search(r'id="token-secret" value="(tsa_[^"]+)"', made.content.decode())
    assert secret is not None
    token = ApiToken.objects.get(user=cast.agent)
    assert token.key_hash == ApiToken.hash_of(secret[1]) and secret[1] not in (token.prefix, token.key_hash)
    listed = client.get("/registry/api-tokens/").content.decode()
    assert "nightly reconciliation" in listed and secret[1] not in listed and token.prefix in listed
    created = AuditEvent.objects.get(action="api_token.created")
    assert secret[1] not in str(created.after) and created.actor_id == cast.agent.pk

    # Someone else's token is not there to revoke.
    assert _signed_in(cast.admin).post(f"/registry/api-tokens/{token.pk}/revoke/").status_code == 404
    revoked = client.post(f"/registry/api-tokens/{token.pk}/revoke/", follow=True)
    assert "is revoked" in revoked.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None
    client.post(f"/registry/api-tokens/{token.pk}/revoke/")  # twice: nothing more happens
    assert AuditEvent.objects.filter(action="api_token.revoked").count() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "  "}, "This field is required"),
        ({"name": "x" * 101}, "at most 100 characters"),
        ({"name": "old", "expires_on": "2020-01-01"}, "Choose a day after today"),
        ({"name": "long", "expires_on": "2999-01-01"}, "two years at most"),
        ({"name": "odd", "expires_on": "tomorrow"}, "Enter a valid date"),
    ],
)
def test_a_bad_token_request_says_why_and_makes_nothing(cast: Cast, data: dict, message: str) -> None:
    response = _signed_in(cast.agent).post("/registry/api-tokens/", data)
    assert response.status_code == 200 and message in response.content.decode()
    assert not ApiToken.objects.exists()


def test_the_number_of_active_tokens_is_bounded(cast: Cast) -> None:
    client = _signed_in(cast.agent)
    for n in range(10):
        client.post("/registry/api-tokens/", {"name": f"system {n}"})
    refused = client.post("/registry/api-tokens/", {"name": "one too many"})
    assert "revoke one you no longer use" in refused.content.decode()
    assert ApiToken.objects.filter(user=cast.agent).count() == 10


def test_the_token_page_needs_two_factor_and_a_register_role(cast: Cast) -> None:
    Authenticator.objects.filter(user=cast.agent).delete()
    response = _signed_in(cast.agent).get("/registry/api-tokens/")
    assert response.status_code == 302 and response["Location"] == "/two-factor/needed/"
    assert _signed_in(cast.investor).post("/registry/api-tokens/", {"name": "mine"}).status_code == 403
    assert _signed_in(cast.compliance).get("/registry/api-tokens/").status_code == 403
    assert not ApiToken.objects.exists()


def test_an_expiring_token_shows_its_expiry_and_an_agent_of_two_issuers_sees_both(cast: Cast) -> None:
    MembershipFactory.create(issuer=cast.other_issuer, user=cast.agent, role=Role.TRANSFER_AGENT)
    client = _signed_in(cast.agent)
    day = dt.date.today() + dt.timedelta(days=30)
    client.post("/registry/api-tokens/", {"name": "month", "expires_on": day.isoformat()})
    token = ApiToken.objects.get(user=cast.agent)
    assert token.expires_at == dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
    page = client.get("/registry/").content.decode()
    assert cast.issuer.name in page and cast.other_issuer.name in page
    assert UserFactory.create().api_tokens.count() == 0
