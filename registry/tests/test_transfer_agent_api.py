"""The transfer agent's read-only API on a real anvil: a personal token reads the holders, the holdings as of
a block, the journal, the control book with its authorization documents and the record differences of
its own issuers only; revoked, expired or orphaned tokens fail; calls past the rate get 429."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from core.models import ApiToken, Role, User
from core.services import api_token_create, api_token_revoke, membership_revoke
from core.tests.factories import MembershipFactory
from core.tests.support import Cast
from registry.models import LedgerPosting, PostingKind
from registry.tests.conftest import RESOLUTION, Closed, Register
from tokens.tests.support import WALLETS

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


def _token_client(user: User) -> tuple[Client, ApiToken]:
    token, secret = api_token_create(actor=user, name="registry sync")
    return Client(HTTP_AUTHORIZATION=f"Token {secret}"), token


def _walk(client: Client, url: str, **params: str | int) -> list[dict]:
    """Every row of a cursor-paginated list, following `next` to the end."""
    rows: list[dict] = []
    response = client.get(url, params)
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        rows += body["results"]
        if not body["next"]:
            return rows
        response = client.get(body["next"])


def _base(register: Register) -> str:
    return f"/api/v1/registry/tokens/{register.closed.offering.public_id}"


def test_an_agent_token_reads_the_whole_register_of_its_issuer(cast: Cast, register: Register) -> None:
    client, token = _token_client(cast.agent)
    closed = register.closed
    base = _base(register)

    (issuer,) = client.get("/api/v1/registry/issuers/").json()
    assert (issuer["slug"], issuer["role"]) == (cast.issuer.slug, Role.TRANSFER_AGENT)
    assert [t["id"] for t in issuer["tokens"]] == [str(closed.offering.public_id)]
    assert issuer["tokens"][0]["address"] == closed.token.address

    holders = {h["reference"]: h for h in _walk(client, f"{base}/holders/", page_size=1)}
    assert {ref: h["quantity"] for ref, h in holders.items()} == {
        closed.alice.reference: 120,
        closed.bob.reference: 340,  # 300 bought, 40 minted outside the portal
        closed.carol.reference: 80,
    }
    assert holders[closed.carol.reference]["wallets"] == [{"address": WALLETS[3], "quantity": 80}]
    assert holders[closed.alice.reference]["legal_name"] == closed.alice.legal_name

    holdings = _walk(client, f"{base}/holdings/", page_size=2)
    assert sum(h["quantity"] for h in holdings) == 540
    carol = [h for h in holdings if h["holder"] == closed.carol.reference]
    assert [(h["wallet"], h["quantity"], h["transaction_hash"]) for h in carol] == [(WALLETS[3], 80, register.sale)]

    journal = _walk(client, f"{base}/journal/", page_size=1)
    assert [p["kind"] for p in journal] == ["mint", "mint", "transfer", "mint"]
    sale = journal[2]
    assert (sale["from_holder"], sale["to_holder"], sale["quantity"]) == (
        closed.alice.reference,
        closed.carol.reference,
        80,
    )
    assert sale["transaction_hash"] == register.sale and not sale["via_portal"] and not sale["posted_late"]
    assert [p["block_number"] for p in journal] == sorted(p["block_number"] for p in journal)

    book = client.get(f"{base}/control-book/").json()
    assert (book["authorized"], book["issued"], book["ledger_total"], book["on_chain_supply"]) == (1000, 500, 540, 540)
    (authorization,) = _walk(client, book["authorizations_url"])
    assert authorization["state"] == "effective" and authorization["effective_at"]
    entries = _walk(client, book["entries_url"], page_size=1)
    assert len(entries) == book["entries_count"] and sum(e["quantity"] for e in entries) == 500
    document = client.get(authorization["document_url"])
    assert document.status_code == 200 and document.getvalue() == RESOLUTION
    assert document["X-Document-SHA256"] == authorization["document_sha256"]

    (difference,) = _walk(client, f"{base}/differences/")
    assert difference["transaction_hash"] == register.planted
    assert (difference["expected"], difference["actual"]) == (0, 40)
    assert (difference["age_days"], difference["aged"]) == (0, False)
    assert _walk(client, f"{base}/differences/", state="aged") == []

    token.refresh_from_db()
    assert token.last_used_at is not None


def test_holdings_and_holders_as_of_a_block_before_a_sale_show_the_holders_then(cast: Cast, register: Register) -> None:
    client, _ = _token_client(cast.agent)
    closed, base = register.closed, _base(register)
    then = _walk(client, f"{base}/holders/", block=register.before_transfer)
    assert {h["reference"]: h["quantity"] for h in then} == {closed.alice.reference: 200, closed.bob.reference: 300}
    lots = _walk(client, f"{base}/holdings/", block=register.before_transfer)
    assert sorted(h["quantity"] for h in lots) == [200, 300]
    closing_day = LedgerPosting.objects.order_by("block_number").first().chain_time.date()  # type: ignore[union-attr]
    sale_day = LedgerPosting.objects.get(transaction_hash=register.sale).chain_time.date()
    before_closing = _walk(client, f"{base}/holders/", date=(closing_day - dt.timedelta(days=1)).isoformat())
    assert before_closing == []  # nothing was minted before the day of the closing
    assert len(_walk(client, f"{base}/holders/", date=sale_day.isoformat())) == 3
    found = _walk(client, f"{base}/holders/", search=closed.carol.legal_name[3:])
    assert [h["reference"] for h in found] == [closed.carol.reference]
    by_wallet = _walk(client, f"{base}/holdings/", search=WALLETS[3].lower())
    assert [h["holder"] for h in by_wallet] == [closed.carol.reference]


def test_the_journal_covers_a_period_of_block_time(cast: Cast, register: Register) -> None:
    client, _ = _token_client(cast.agent)
    sale = LedgerPosting.objects.get(transaction_hash=register.sale)
    rows = _walk(client, f"{_base(register)}/journal/", since=sale.chain_time.isoformat())
    assert rows[0]["transaction_hash"] == register.sale
    assert all(r["kind"] != PostingKind.MINT or r["transaction_hash"] == register.planted for r in rows)
    before = _walk(client, f"{_base(register)}/journal/", until=(sale.chain_time - dt.timedelta(seconds=1)).isoformat())
    assert register.sale not in [r["transaction_hash"] for r in before]
    bad = client.get(
        f"{_base(register)}/journal/", {"since": sale.chain_time.isoformat(), "until": "2000-01-01T00:00:00Z"}
    )
    assert bad.status_code == 400 and "starts after it ends" in str(bad.json()["error"]["details"])


@pytest.mark.parametrize(
    "query", ["block=-1", "block=99999999999999999999999", "date=yesterday", "state=closed", "cursor=garbage"]
)
def test_bad_query_parameters_get_a_clear_error_not_a_server_error(cast: Cast, closed: Closed, query: str) -> None:
    client, _ = _token_client(cast.agent)
    path = "differences" if query.startswith("state") else "holdings"
    response = client.get(f"/api/v1/registry/tokens/{closed.offering.public_id}/{path}/?{query}")
    assert response.status_code in (400, 404)
    assert response.json()["error"]["message"]


def test_another_issuers_agent_sees_nothing_of_this_register(cast: Cast, register: Register) -> None:
    stranger = MembershipFactory.create(issuer=cast.other_issuer, role=Role.TRANSFER_AGENT).user
    client, _ = _token_client(stranger)
    (issuer,) = client.get("/api/v1/registry/issuers/").json()
    assert issuer["slug"] == cast.other_issuer.slug and issuer["tokens"] == []
    base = _base(register)
    for path in ("holders", "holdings", "journal", "control-book", "differences"):
        response = client.get(f"{base}/{path}/")
        assert response.status_code == 403, path
        assert "results" not in response.json() and "issued" not in response.json()
    document = client.get(f"{base}/control-book/authorizations/1/document/")
    assert document.status_code == 403


def test_a_revoked_agent_token_stops_working(cast: Cast, closed: Closed) -> None:
    client, _ = _token_client(cast.agent)
    base = f"/api/v1/registry/tokens/{closed.offering.public_id}"
    assert client.get(f"{base}/holders/").status_code == 200

    membership_revoke(actor=cast.admin, membership=cast.agent_membership)
    refused = client.get(f"{base}/holders/")
    assert refused.status_code == 401
    assert "no longer holds" in refused.json()["error"]["message"]

    # An agent who still works for another issuer keeps the token for that one only.
    MembershipFactory.create(issuer=cast.other_issuer, user=cast.agent, role=Role.TRANSFER_AGENT)
    assert client.get(f"{base}/holders/").status_code == 403
    assert client.get("/api/v1/registry/issuers/").json()[0]["slug"] == cast.other_issuer.slug


def test_revoked_expired_unknown_and_malformed_tokens_are_refused(cast: Cast, closed: Closed) -> None:
    url = f"/api/v1/registry/tokens/{closed.offering.public_id}/holders/"
    token, secret = api_token_create(actor=cast.agent, name="to revoke")
    assert Client(HTTP_AUTHORIZATION=f"Bearer {secret}").get(url).status_code == 200
    api_token_revoke(actor=cast.agent, token=token)
    for header in (f"Token {secret}", "Token tsa_not-a-token", "Token", "Token a b", "Basic dXNlcjpwYXNz"):
        response = Client(HTTP_AUTHORIZATION=header).get(url)
        assert response.status_code == 401, header
        assert response["WWW-Authenticate"].startswith("Token")
    expiring, expiring_secret = api_token_create(
        actor=cast.agent, name="short", expires_at=timezone.now() + dt.timedelta(hours=1)
    )
    ApiToken.objects.filter(pk=expiring.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert Client(HTTP_AUTHORIZATION=f"Token {expiring_secret}").get(url).status_code == 401
    assert Client().get(url).status_code == 401


def test_an_api_token_does_not_open_the_rest_of_the_api(cast: Cast, closed: Closed) -> None:
    client, _ = _token_client(cast.agent)
    # Subscribing, linking wallets and the team list take a browser session only.
    assert client.post(f"/api/v1/offerings/{closed.offering.public_id}/subscriptions/", {}).status_code == 403
    assert client.get(f"/api/v1/issuers/{cast.issuer.slug}/team/").status_code == 403


def test_issuer_admins_read_the_register_through_their_session(cast: Cast, closed: Closed) -> None:
    client = Client()
    client.force_login(cast.admin)
    base = f"/api/v1/registry/tokens/{closed.offering.public_id}"
    assert client.get(f"{base}/control-book/").status_code == 200
    client.force_login(cast.compliance)
    assert client.get(f"{base}/control-book/").status_code == 403


def test_calls_past_the_rate_get_429_with_the_usual_error_shape(cast: Cast, closed: Closed, settings) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"registry": "3/minute"}}
    cache.delete(f"throttle_registry_{cast.agent.pk}")  # counts of earlier tests with the same user id
    client, _ = _token_client(cast.agent)
    url = f"/api/v1/registry/tokens/{closed.offering.public_id}/holders/"
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 200]
    limited = client.get(url)
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "throttled" and int(limited["Retry-After"]) > 0
    # The count is per person: an admin calling at the same time is not held back by the agent.
    cache.delete(f"throttle_registry_{cast.admin.pk}")
    admin, _ = _token_client(cast.admin)
    assert admin.get(url).status_code == 200


def test_the_openapi_schema_describes_every_registry_endpoint_with_its_types(client: Client) -> None:
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    base = "/api/v1/registry/tokens/{public_id}"
    paths = {
        "/api/v1/registry/issuers/",
        f"{base}/holders/",
        f"{base}/holdings/",
        f"{base}/journal/",
        f"{base}/control-book/",
        f"{base}/control-book/entries/",
        f"{base}/control-book/authorizations/",
        f"{base}/control-book/authorizations/{{authorization_id}}/document/",
        f"{base}/differences/",
        "/api/v1/registry/exports/{job_id}/",
        "/api/v1/registry/exports/{job_id}/download/",
    }
    assert paths <= set(schema["paths"])
    # Asking for an export is the one write: a POST beside the list.
    assert set(schema["paths"][f"{base}/exports/"]) == {"get", "post"}
    request = schema["components"]["schemas"]["NewExportJobRequest"]
    assert {"exporter", "format"} <= set(request["required"]) and "as_of_block" in request["properties"]
    assert schema["components"]["securitySchemes"]["apiToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["apiToken"]["description"],
    }
    holders = schema["paths"][f"{base}/holders/"]["get"]
    assert {"cursor", "page_size", "date", "block", "search"} <= {p["name"] for p in holders["parameters"]}
    assert {"apiToken": []} in holders["security"]
    for path in paths:
        assert set(schema["paths"][path]) == {"get"}  # read-only
    holder = schema["components"]["schemas"]["RegisterHolder"]["properties"]
    assert holder["quantity"]["type"] == "integer" and holder["wallets"]["type"] == "array"
    posting = schema["components"]["schemas"]["JournalPosting"]["properties"]
    assert posting["posted_late"]["type"] == "boolean" and posting["chain_time"]["format"] == "date-time"
