"""After a dividend is paid: the investor finds it from their portfolio, reads gross, withholding and net with the
transaction, and downloads the year's tax summary; the transfer agent opens the Distributions tab of the
register, reads the register and downloads it as CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from django.test import Client
from pypdf import PdfReader

from distributions.models import WithholdingReason
from distributions.tests.support import Part, distribution_paid, w9
from investors.tests.support import verified_investor
from offerings.tests.support import offering_open

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TX = "0x" + "d4" * 32


def _context(browser, live_server, user):
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    return context


def test_an_investor_reads_their_dividend_and_tax_summary_and_the_agent_downloads_the_register(
    browser, live_server, cast, registry, settings
) -> None:
    settings.ALLOWED_HOSTS = ["*"]
    offering = offering_open(cast.issuer, cast.admin)
    me = verified_investor(user=cast.investor, name="Ivy Investor", wallet=None)
    other = verified_investor(name="Greta Gruber", country="DE", wallet=None)
    dividend = distribution_paid(
        offering,
        cast.admin,
        [
            Part(
                me,
                400,
                400_00,
                2400,
                WithholdingReason.US_BACKUP_NOTICE,
                w9(me, exempt_from_backup=False),
                reference=TX,
            ),
            Part(other, 600, 600_00, 3000, WithholdingReason.NO_VALID_W8, reference="BANK-REF-901"),
        ],
        payment_date=dt.date(2026, 3, 31),
    )

    investor = _context(browser, live_server, cast.investor)
    page = investor.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(f"{live_server.url}/portfolio/")
        page.get_by_role("link", name="All distributions and tax summaries").click()
        row = page.locator("#distribution-lines tbody tr").first
        text = row.inner_text()
        assert "400.00 USD" in text and "96.00 USD" in text and "304.00 USD" in text and "24%" in text
        assert "Paid" in text and TX[:10] in text
        assert "Greta" not in page.content()
        with page.expect_download() as info:
            page.get_by_role("link", name="Download the 2026 summary (PDF)").click()
        summary = PdfReader(Path(info.value.path())).pages[0].extract_text()
    finally:
        investor.close()
    assert "Distributions tax summary 2026" in summary and "304.00 USD" in summary

    agent = _context(browser, live_server, cast.agent)
    page = agent.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(f"{live_server.url}/issuers/{cast.issuer.slug}/registry/{offering.public_id}/holdings/")
        page.get_by_role("link", name="Distributions", exact=True).click()
        page.get_by_role("link", name="Dividend").click()
        assert "Greta Gruber" in page.locator("#record-register").inner_text()
        with page.expect_download() as info:
            page.get_by_role("link", name="Register as CSV").click()
        download = info.value
        content = Path(download.path()).read_text(encoding="utf-8")
    finally:
        agent.close()
    assert download.suggested_filename == f"{offering.token_symbol}-distribution-register-{dividend.record_date}.csv"
    rows = {r["Holder"]: r for r in csv.DictReader(io.StringIO(content))}
    assert rows["Greta Gruber"]["Withheld"] == "180.00"
    assert rows["Ivy Investor"]["Transaction or bank reference"] == TX
