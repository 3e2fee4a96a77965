"""Pages: the subscription flow in the browser's words, error messages, and query counts that do not grow with rows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from core.tests.factories import TEST_PASSWORD
from investors.tests.support import verified_investor
from offerings.models import Subscription, SubscriptionStatus
from offerings.selectors.offerings import current_documents
from offerings.tests.support import offering_open, pdf, subscribed, wire_received

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _subscriptions(cast, offering, n: int) -> None:
    for _ in range(n):
        investor = verified_investor(accreditation="verified")
        s = subscribed(offering, investor, 1_000_00, user_agent="t")
        wire_received(cast.issuer, cast.compliance, s, 1_000_00)


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return len(ctx.captured_queries)


def test_query_counts_do_not_grow_with_subscriptions(cast) -> None:
    offering = offering_open(cast.issuer, cast.admin, hard_cap_minor=1_000_000_00)
    admin = _client(cast.admin)
    investor = _client(cast.investor)
    pages = {
        "detail": (investor, f"/offerings/{offering.public_id}/"),
        "list": (investor, "/offerings/"),
        "dashboard": (admin, f"/issuers/{cast.issuer.slug}/offerings/{offering.public_id}/dashboard/"),
        "subscriptions": (admin, f"/issuers/{cast.issuer.slug}/offerings/{offering.public_id}/subscriptions/"),
        "wires": (admin, f"/issuers/{cast.issuer.slug}/wires/"),
    }
    _subscriptions(cast, offering, 2)
    small = {name: _queries(c, url) for name, (c, url) in pages.items()}
    _subscriptions(cast, offering, 12)
    large = {name: _queries(c, url) for name, (c, url) in pages.items()}
    assert small == large


def test_the_subscription_flow_in_pages(cast) -> None:
    offering = offering_open(cast.issuer, cast.admin)
    investor = verified_investor(user=cast.investor, accreditation="verified")
    client = _client(cast.investor)
    page = client.get(f"/offerings/{offering.public_id}/subscribe/")
    assert page.status_code == 200 and b"You cannot subscribe yet" not in page.content
    bad = client.post(f"/offerings/{offering.public_id}/subscribe/", {"amount": "1,005.5"})
    assert "whole number of tokens" in bad.content.decode()
    bad = client.post(f"/offerings/{offering.public_id}/subscribe/", {"amount": "ten"})
    assert "Enter the amount as a number" in bad.content.decode()
    response = client.post(f"/offerings/{offering.public_id}/subscribe/", {"amount": "2,000"})
    subscription = Subscription.objects.get(investor=investor)
    assert response["Location"] == f"/subscriptions/{subscription.public_id}/sign/"
    docs = [d.pk for d in current_documents(offering=offering)]
    missing = client.post(f"/subscriptions/{subscription.public_id}/sign/", {"documents": docs[:1]})
    assert "Accept every current document" in missing.content.decode()
    client.post(
        f"/subscriptions/{subscription.public_id}/sign/",
        {"documents": docs},
        HTTP_USER_AGENT="Mozilla/5.0 (pages test)",
    )
    subscription.refresh_from_db()
    assert (
        subscription.status == SubscriptionStatus.SIGNED
        and subscription.signed_user_agent == "Mozilla/5.0 (pages test)"
    )
    client.post(f"/subscriptions/{subscription.public_id}/pay/", {"method": "wire"})
    status = client.get(f"/subscriptions/{subscription.public_id}/").content.decode()
    assert subscription.wire_reference in status and "Wire instructions" in status
    agreement = client.get(f"/subscriptions/{subscription.public_id}/agreement.pdf")
    assert agreement.getvalue().startswith(b"%PDF")
    assert client.get("/portfolio/").status_code == 200


def test_an_ineligible_investor_sees_the_reasons(cast) -> None:
    offering = offering_open(cast.issuer, cast.admin)
    verified_investor(user=cast.investor, accreditation=None, wallet=None)
    page = _client(cast.investor).get(f"/offerings/{offering.public_id}/subscribe/").content.decode()
    assert "You cannot subscribe yet" in page
    assert "accredited investors whose status was verified" in page
    assert "registered on-chain" in page


def test_the_subscribe_page_waits_for_the_figures_before_it_speaks_of_limits(cast) -> None:
    from compliance.exemptions import Exemption

    # Not accredited, no figures typed yet: the Reg CF limit at zero income is the $2,500 floor, below the minimum.
    offering = offering_open(cast.issuer, cast.admin, exemption=Exemption.REG_CF, min_investment_minor=5_000_00)
    verified_investor(user=cast.investor, wallet=None)
    page = _client(cast.investor).get(f"/offerings/{offering.public_id}/subscribe/").content.decode()
    assert 'data-reason="no_registered_wallet"' in page and "registered on-chain" in page
    assert "Regulation Crowdfunding limits you" not in page and "reg_cf_limit" not in page


def test_a_visitor_without_an_investor_account_is_told_to_set_one_up(cast) -> None:
    offering = offering_open(cast.issuer, cast.admin)
    page = _client(cast.investor).get(f"/offerings/{offering.public_id}/subscribe/").content.decode()
    assert 'data-reason="no_investor_account"' in page and "Set up your investor account first" in page


def test_the_issuer_creates_an_offering_with_clear_errors(cast) -> None:
    client = _client(cast.admin)
    form = {
        "title": "Harbor Fund II",
        "security_type": "fund_units",
        "exemption": "reg_cf",
        "currency": "USD",
        "price": "10.00",
        "min_investment": "100",
        "soft_cap": "50000",
        "hard_cap": "9000000",
        "opens_at": "2026-01-01T00:00",
        "closes_at": "2026-01-10T00:00",
        "token_name": "Harbor Fund II",
        "token_symbol": "HFII",
        "lockup_days": "10",
    }
    page = client.post(f"/issuers/{cast.issuer.slug}/offerings/new/", form).content.decode()
    assert "hard cap can be at most 5,000,000.00 USD" in page
    assert "at least 21 days" in page
    assert "locked up at least 365 days" in page
    form.update({"hard_cap": "1000000", "closes_at": "2026-03-01T00:00", "lockup_days": "400"})
    response = client.post(f"/issuers/{cast.issuer.slug}/offerings/new/", form)
    assert response.status_code == 302
    upload = client.post(
        response["Location"],
        {"kind": "subscription_agreement", "file": _file("agreement.txt", b"not a pdf")},
    )
    assert "Upload the document as a PDF file" in upload.content.decode()
    client.post(response["Location"], {"kind": "subscription_agreement", "file": _file("agreement.pdf", pdf())})
    assert "version 1" in client.get(response["Location"]).content.decode()
    assert TEST_PASSWORD


def _file(name: str, content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)


def test_the_api_answers_eligibility_and_subscribes(cast) -> None:
    offering = offering_open(cast.issuer, cast.admin)
    verified_investor(user=cast.investor, accreditation="verified")
    client = _client(cast.investor)
    check = client.post(
        f"/api/v1/offerings/{offering.public_id}/eligibility/",
        {"amount_minor": 500_00},
        content_type="application/json",
    ).json()
    assert check["allowed"] is False and any("minimum investment" in r["message"] for r in check["reasons"])
    assert {"code": "below_minimum", "params": {"min_investment_minor": 1_000_00, "currency": "USD"}}.items() <= next(
        r for r in check["reasons"] if r["code"] == "below_minimum"
    ).items()
    created = client.post(
        f"/api/v1/offerings/{offering.public_id}/subscriptions/",
        {"amount_minor": 2_000_00},
        content_type="application/json",
    )
    assert created.status_code == 201 and created.json()["quantity"] == 200
    listed = client.get("/api/v1/offerings/").json()
    assert listed["results"][0]["committed_minor"] == 2_000_00
