"""A transfer agent signs in to their registers, asks for the master securityholder file on the exports page,
watches the progress bar fill while a real Celery worker writes it, downloads it and opens it."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from investors.tests.support import verified_investor
from offerings.tests.support import offering_open
from registry.tests.ledger_rows import mints_bulk

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

HOLDERS = 3_000


def test_a_transfer_agent_downloads_the_register_with_the_progress_bar_and_opens_it(
    browser, live_server, cast, registry, celery_worker_process, settings
) -> None:
    settings.ALLOWED_HOSTS = ["*"]
    offering = offering_open(cast.issuer, cast.admin)
    alice = verified_investor(name="Alice Adams", wallet=None)
    issued = timezone.now() - dt.timedelta(days=3)
    mints_bulk(offering, [(alice.pk, f"0x{n:040x}", 5) for n in range(1, HOLDERS + 1)], at=issued)
    celery_worker_process("exports")

    client = Client()
    client.force_login(cast.agent)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(f"{live_server.url}/dashboard/")
        assert page.url.endswith("/registry/")  # a transfer agent lands on their registers
        page.get_by_role("link", name="Exports (CSV, Excel, PDF, Open Cap Format)").click()
        form = page.locator("#export-form")
        form.locator("select[name=exporter]").select_option("master_file")
        form.locator("select[name=format]").select_option("csv")
        form.get_by_role("button", name="Make the export").click()
        row = page.locator("tr[data-job]").first
        bar = row.locator("[data-bar]")
        row.locator("[data-download]").wait_for(state="visible")
        assert bar.inner_text() == "100%"
        with page.expect_download() as info:
            row.locator("[data-download]").click()
        download = info.value
        content = Path(download.path()).read_text(encoding="utf-8")
    finally:
        context.close()
    rows = list(csv.reader(io.StringIO(content)))
    assert download.suggested_filename.endswith(".csv")
    assert sum(1 for r in rows if "Alice Adams" in r) == HOLDERS
