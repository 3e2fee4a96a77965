"""In a browser: the issuer's admin enters a reserve attestation with its PDF, a second admin approves it, and anyone,
signed in or not, reads the token's transparency page: the supply on the ledger, the attested reserves, the backing
ratio and the charts drawn from the embedded figures; on a phone-sized screen too."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from backing.models import ReserveStatement, StatementState
from backing.tests.support import other_admin, profile_saved, rule_set
from core.tests.files import pdf_bytes
from offerings.tests.support import offering_open
from registry.tests.test_cap_table import register_build

pytestmark = [pytest.mark.browser, pytest.mark.chain, pytest.mark.django_db(transaction=True)]


def _context(browser, live_server, user=None, *, width: int = 1280, height: int = 900):
    context = browser.new_context(viewport={"width": width, "height": height})
    if user is not None:
        client = Client()
        client.force_login(user)
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def test_an_attestation_entered_and_approved_shows_on_the_public_transparency_page(
    cast, chain_settings, registry, live_server, browser, settings
) -> None:
    settings.ALLOWED_HOSTS = ["*"]
    reg = register_build(cast, offering_open(cast.issuer, cast.admin))  # 1,150 units on the ledger
    offering = reg.offering
    profile_saved(offering, cast.admin)
    approver = other_admin(cast.issuer, cast.admin)
    rule_set(offering, cast.admin, per_token="10.00", approver=approver)  # the 1,150 units need 11,500.00 USD

    admin = _context(browser, live_server, cast.admin)
    admin.goto(f"{live_server.url}/issuers/harbor/offerings/{offering.public_id}/backing/")
    admin.get_by_role("link", name="Enter one").click()
    today = timezone.localdate().isoformat()
    for label, value in (("Reserves as of", today), ("Period from", today), ("Period to", today)):
        admin.get_by_label(label).fill(value)
    admin.get_by_label("Attestor", exact=True).fill("Moss & Partners LLP")
    admin.get_by_label("Attestation or audit report (PDF)").set_input_files(
        files=[{"name": "reserves.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes("reserves")}]
    )
    admin.locator("#id_lines-0-asset_kind").select_option("cash")
    admin.locator("#id_lines-0-custodian").fill("First Bank")
    admin.locator("#id_lines-0-amount").fill("7,000.00")
    admin.locator("#id_lines-1-asset_kind").select_option("treasuries")
    admin.locator("#id_lines-1-custodian").fill("Custody Inc")
    admin.locator("#id_lines-1-amount").fill("5000")
    admin.get_by_role("button", name="Record the statement").click()
    admin.wait_for_selector("#statement-state")
    assert "Waiting for a second admin" in admin.locator("#statement-state").inner_text()
    statement = ReserveStatement.objects.get(offering=offering)

    second = _context(browser, live_server, approver)
    second.goto(f"{live_server.url}/issuers/harbor/reserve-statements/{statement.public_id}/")
    second.get_by_role("button", name="Approve").click()
    second.wait_for_selector("text=Approved: this is now")
    statement.refresh_from_db()
    assert statement.state == StatementState.APPROVED

    reader = _context(browser, live_server)  # nobody signed in
    reader.goto(f"{live_server.url}/offerings/")  # 506(c): the offering page is public
    reader.goto(f"{live_server.url}/offerings/{offering.public_id}/")
    reader.get_by_role("link", name="Transparency report").click()
    reader.wait_for_selector("#key-figures")
    assert reader.locator("#supply").inner_text().startswith("1,150")
    assert reader.locator("#reserves").inner_text() == "12,000.00 USD"
    assert reader.locator("#ratio").inner_text() == "104.34%"  # 12,000.00 / 11,500.00, rounded down
    assert "Backed." in reader.locator("#transparency-condition").inner_text()
    for chart in ("chart-composition", "chart-history"):
        assert reader.evaluate(f"() => !!window.Chart.getChart('{chart}')"), chart
    assert statement.document_sha256 in reader.locator("#attestations").inner_text()
    assert reg.alice.user.email not in reader.content() and "Alice Archer" not in reader.content()

    phone = _context(browser, live_server, width=390, height=844)
    phone.goto(f"{live_server.url}/transparency/{offering.public_id}/")
    phone.wait_for_selector("#key-figures")
    assert phone.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
