"""The public transparency page and its JSON: anyone opens them without signing in, they can be cached, they
list only approved attestations with documents anyone can download and check against the hash shown, and
they show a stale or under-collateralised token as such."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re

import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from backing.tests.support import (
    REDEMPTION_TERMS,
    profile_saved,
    rule_set,
    statement_approved,
    statement_entered,
)
from core.approvals import approval_reject
from investors.services.verification import investor_registry_refresh
from investors.tests.support import verified_investor
from offerings.services.closing import closing_advance, offering_close
from offerings.services.offerings import offering_publish
from offerings.tests.support import offering_draft, offering_open, subscribed, wire_received
from registry.services.ledger import ledger_sync
from registry.tests.support import second_admin
from tokens.services import portal_registry_ensure
from tokens.tests.support import WALLETS, chain_indexed, drain

pytestmark = pytest.mark.django_db


@pytest.fixture
def offering(cast):
    offering = offering_open(cast.issuer, cast.admin)
    profile_saved(offering, cast.admin)
    rule_set(offering, cast.admin, per_token="10.00", staleness_days=35)
    return offering


def _page(offering) -> str:
    return reverse("transparency_page", args=[offering.public_id])


def _json(offering) -> str:
    return reverse("api_transparency", args=[offering.public_id])


def test_anyone_reads_the_page_without_signing_in_and_a_shared_cache_may_keep_it(cast, offering) -> None:
    statement = statement_approved(offering, cast.admin, second_admin(cast.issuer), 600_000_00, 400_000_25)
    response = Client().get(_page(offering))
    assert response.status_code == 200
    assert "public" in response["Cache-Control"] and "max-age=60" in response["Cache-Control"]
    assert "Cookie" in response["Vary"]
    body = response.content.decode()
    assert "1,000,000.25 USD" in body and "Moss &amp; Partners LLP" in body
    assert statement.document_sha256 in body
    assert REDEMPTION_TERMS in body and "Harbor Reserve SPV LLC" in body and "First Custody Bank" in body
    # Nothing is minted yet: no ratio to show, and the page says why rather than showing an empty figure.
    assert "No units are outstanding" in body
    assert 'id="chart-composition"' in body and 'id="composition-table"' in body


def test_a_signed_in_reader_gets_a_copy_no_shared_cache_keeps(cast, offering) -> None:
    client = Client()
    client.force_login(cast.investor)
    response = client.get(_page(offering))
    assert response.status_code == 200 and "private" in response["Cache-Control"]


def test_the_json_says_the_same_in_exact_integers_and_anyone_downloads_the_attestation(cast, offering) -> None:
    statement = statement_approved(
        offering,
        cast.admin,
        second_admin(cast.issuer),
        600_000_00,
        200_000_00,
        200_000_25,
        kinds=("treasuries", "cash", "cash"),
    )
    response = Client().get(_json(offering))
    assert response.status_code == 200 and "public" in response["Cache-Control"]
    data = response.json()
    assert data["token_symbol"] == offering.token_symbol and data["supply"] == 0
    assert data["reserves"] == {"amount": 1_000_000_25, "scale": 2, "unit": "USD", "decimal": "1000000.25"}
    assert data["rule"]["reserve_per_token"] == "10.00" and data["rule"]["staleness_days"] == 35
    assert data["condition"] == "backed" and data["stale"] is False
    assert [line["amount"]["amount"] for line in data["lines"]] == [600_000_00, 200_000_00, 200_000_25]
    # 5,999.9985 and 4,000.0015 basis points: the shown shares add up to exactly 100.00%.
    shares = [(part["asset_kind"], part["amount"]["amount"], part["share_bps"]) for part in data["composition"]]
    assert shares == [("treasuries", 600_000_00, 6_000), ("cash", 400_000_25, 4_000)]
    [attested] = data["attestations"]
    assert attested["current"] is True and attested["document_sha256"] == statement.document_sha256
    download = Client().get(attested["document_url"])
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert "immutable" in download["Cache-Control"]
    assert hashlib.sha256(download.getvalue()).hexdigest() == statement.document_sha256


def test_statements_waiting_or_declined_are_never_published(cast, offering) -> None:
    waiting = statement_entered(offering, cast.admin, 5_000_00)
    declined = statement_entered(offering, cast.admin, 7_000_00)
    assert declined.approval_request is not None
    approval_reject(request=declined.approval_request, actor=second_admin(cast.issuer), note="wrong period")
    body = Client().get(_page(offering)).content.decode()
    assert waiting.document_sha256 not in body and declined.document_sha256 not in body
    assert "No attestation is approved yet" in body
    for statement in (waiting, declined):
        document = reverse("transparency_document", args=[offering.public_id, statement.public_id])
        assert Client().get(document).status_code == 404
    assert Client().get(_json(offering)).json()["condition"] == "no_statement"


def test_a_stale_attestation_shows_on_the_page_and_in_the_json(cast, offering) -> None:
    old = timezone.localdate() - dt.timedelta(days=36)
    statement_approved(offering, cast.admin, second_admin(cast.issuer), 1_000_00, as_of=old)
    body = Client().get(_page(offering)).content.decode()
    assert 'role="alert"' in body and "Attestation stale." in body
    assert "36 days old; the limit is 35 days" in body and "mints stop until a newer attestation" in body
    data = Client().get(_json(offering)).json()
    assert data["condition"] == "stale" and data["stale"] is True and data["attestation_age_days"] == 36


def test_a_token_without_backing_or_still_a_draft_has_no_page(cast) -> None:
    unbacked = offering_open(cast.issuer, cast.admin)
    draft = offering_draft(cast.issuer, cast.admin)
    profile_saved(draft, cast.admin)
    for offering in (unbacked, draft):
        assert Client().get(_page(offering)).status_code == 404
        missing = Client().get(_json(offering))
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_the_report_is_built_once_for_a_short_while_and_an_approval_refreshes_it(
    cast, offering, django_capture_on_commit_callbacks
) -> None:
    approver = second_admin(cast.issuer)
    statement_approved(offering, cast.admin, approver, 1_000_00)
    first = Client().get(_json(offering)).json()
    assert first["reserves"]["amount"] == 1_000_00
    assert Client().get(_json(offering)).json()["generated_at"] == first["generated_at"]  # from the cache
    with django_capture_on_commit_callbacks(execute=True):
        statement_approved(offering, cast.admin, approver, 2_000_00)
    assert Client().get(_json(offering)).json()["reserves"]["amount"] == 2_000_00


def test_the_json_is_throttled_per_client_with_a_clear_answer(cast, offering) -> None:
    cache.clear()
    rates = {"registry": "100000/minute", "transparency": "2/minute"}
    from django.conf import settings

    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}):
        client = Client()
        assert [client.get(_json(offering)).status_code for _ in range(2)] == [200, 200]
        limited = client.get(_json(offering))
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "throttled" and int(limited["Retry-After"]) > 0


def test_the_json_is_in_the_openapi_schema_and_needs_no_credentials() -> None:
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/tokens/{public_id}/transparency/"]["get"]
    assert operation.get("security", []) in ([], [{}]) and not schema.get("security")  # no credentials asked
    report = schema["components"]["schemas"]["TransparencyReport"]
    assert {"supply", "reserves", "ratio_bps", "attestations", "contract", "history"} <= set(report["properties"])


ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}(?![0-9a-fA-F])")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


@pytest.mark.chain
def test_the_page_and_the_json_show_supply_and_reserves_and_nothing_private(cast, chain_settings) -> None:
    """Two holders minted on anvil and posted to the ledger: the public report counts their units, and names
    neither them nor their wallets nor anyone's e-mail; the only addresses are the contract's and its keys'."""
    portal_registry_ensure()
    drain()
    offering = offering_publish(offering=offering_draft(cast.issuer, cast.admin), actor=cast.admin)
    drain()
    holders = []
    for wallet, amount, name in ((WALLETS[0], 2_000_00, "Alice Liddell"), (WALLETS[1], 3_000_00, "Bob Builder")):
        investor = verified_investor(accreditation="verified", wallet=wallet, register=False, name=name)
        investor_registry_refresh(investor=investor, actor=None)
        drain()
        s = subscribed(offering, investor, amount)
        wire_received(cast.issuer, cast.compliance, s, amount)
        holders.append(investor)
    profile_saved(offering, cast.admin)
    rule_set(offering, cast.admin, per_token="10.00", staleness_days=30)
    approver = second_admin(cast.issuer)
    statement_approved(offering, cast.admin, approver, 5_100_00)
    offering_close(offering=offering, actor=cast.admin)
    closing_advance(offering_id=offering.pk)
    drain()
    closing_advance(offering_id=offering.pk)
    chain_indexed(chain_settings.rpc_url)
    ledger_sync(offering=offering)

    data = Client().get(_json(offering)).json()
    assert data["supply"] == 500 and data["supply_block"] is not None
    assert data["reserves_required"]["amount"] == 5_000_00 and data["ratio_bps"] == 10_200
    assert data["condition"] == "backed"
    assert data["history"][-1]["supply"] == 500 and data["history"][-1]["reserves"] == 5_100_00
    contract = data["contract"]
    assert contract["address"] and contract["upgradeable"] is False
    assert all(f["present"] for f in contract["functions"])
    page = Client().get(_page(offering)).content.decode()
    assert "500 HSCA" in page and "102.00%" in page and 'id="chart-history"' in page

    # A later attestation shows less than the 500 units need: under-collateralised, at once on both.
    cache.clear()
    statement_approved(offering, cast.admin, approver, 4_500_00)
    page = Client().get(_page(offering)).content.decode()
    data = Client().get(_json(offering)).json()
    assert data["condition"] == "under_collateralised" and data["ratio_bps"] == 9_000
    assert "Under-collateralised." in page and "500 units need 5,000.00 USD" in page and "90.00%" in page

    allowed = {contract["address"].lower(), contract["registry"].lower()}
    allowed |= {h.lower() for role in contract["roles"] for h in role["holders"]}
    for text in (page, json.dumps(data)):
        assert {a.lower() for a in ADDRESS.findall(text)} <= allowed
        assert EMAIL.findall(text) == []
        for investor in holders:
            assert investor.legal_name not in text and investor.user.email not in text
            for wallet in investor.wallets.values_list("address", flat=True):
                assert wallet.lower() not in text.lower()


def test_the_offering_page_leads_to_the_transparency_report(cast, offering) -> None:
    statement_approved(offering, cast.admin, second_admin(cast.issuer), 1_000_00)
    client = Client()
    client.force_login(cast.investor)
    page = client.get(reverse("offering_detail", args=[offering.public_id])).content.decode()
    assert _page(offering) in page and "1,000.00 USD as of" in page
    unbacked = offering_open(cast.issuer, cast.admin)
    other = client.get(reverse("offering_detail", args=[unbacked.public_id])).content.decode()
    assert "transparency" not in other.lower()


@pytest.mark.chain
def test_a_token_whose_address_holds_no_code_says_why_its_controls_are_not_shown(
    cast, chain_settings, registry
) -> None:
    from registry.tests.test_cap_table import register_build

    reg = register_build(cast, offering_open(cast.issuer, cast.admin))  # a recorded token address with no code
    profile_saved(reg.offering, cast.admin)
    page = Client().get(_page(reg.offering))
    assert page.status_code == 200 and "contract is not on the chain yet" in page.content.decode()
    assert Client().get(_json(reg.offering)).json()["contract"] is None
    admin = Client()
    admin.force_login(cast.admin)
    overview = admin.get(reverse("backing_overview", args=[cast.issuer.slug, reg.offering.public_id]))
    assert overview.status_code == 200 and "contract is not on the chain yet" in overview.content.decode()
