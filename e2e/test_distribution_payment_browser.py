"""A dividend from declaration to payment: an issuer admin declares it in the browser, computes its register after
the record date and asks for approval; a second admin approves it; on the payment date a real Celery worker pays
it on-chain from the treasury while the page follows the payment; the holder reads gross, withholding and net; the
transfer agent downloads the register.

The chain is a real anvil whose clock the test moves past the record date; the worker runs what the beat would.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from compliance.exemptions import Exemption
from distributions.models import Distribution, DistributionLine, DistributionState, LinePaymentState
from distributions.services.declaring import RECORD_DATE_LEAD, record_moment
from distributions.tests.support import second_admin, w9
from registry.services.ledger import ledger_sync
from registry.tests.conftest import Closed, offering_closed
from tokens.tests.support import WALLETS, Chain, chain_indexed, coin_balance, drain, payout_ready, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.chain, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

UNITS_PER_CENT = 10_000  # the test stablecoin's 6 decimals
# $5,000.00 over 500 units: Alice (200, certified W-9: 0 %) 2,000.00; Bob (300, no W-9: 24 % backup) 3,000.00.
BOB_GROSS, BOB_WITHHELD, BOB_NET = 3_000_00, 720_00, 2_280_00
NET = 2_000_00 + BOB_NET


@pytest.fixture
def closed(cast, chain_settings) -> Closed:
    """Alice holds 200 units in wallet 0 and Bob 300 in wallet 2, indexed onto the ledger."""
    closed = offering_closed(cast, chain_settings.rpc_url, exemption=Exemption.REG_A_TIER2)
    drain()
    chain_indexed(closed.rpc_url)
    ledger_sync(offering=closed.offering)
    return closed


def _context(browser, live_server, user):
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    return context


def _page(context):
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.on("dialog", lambda dialog: dialog.accept())
    return page


def _today_with_room() -> dt.date:
    """Today, once there is room before its end for a record date at the end of the day (waits past midnight)."""
    now = timezone.localtime()
    end = record_moment(now.date())
    if end - now < RECORD_DATE_LEAD + dt.timedelta(minutes=2):
        time.sleep((end - now).total_seconds() + 2)
    return timezone.localdate()


def test_a_dividend_is_declared_approved_by_a_second_admin_paid_by_a_worker_and_read_by_holder_and_agent(
    closed, cast, live_server, browser, settings, celery_worker_process
) -> None:
    settings.ALLOWED_HOSTS = ["*"]
    payout_ready(treasury_units=NET * UNITS_PER_CENT)
    w9(closed.alice)
    finance = second_admin(cast.issuer, "finance@harbor.example")
    today = _today_with_room()
    base = f"{live_server.url}/issuers/{cast.issuer.slug}"

    admin = _context(browser, live_server, cast.admin)
    page = _page(admin)
    try:
        page.goto(f"{base}/offerings/{closed.offering.public_id}/distributions/new/")
        page.get_by_label("Kind").select_option("dividend")
        page.get_by_label("Total amount, split pro rata").check()
        page.get_by_label("Amount", exact=True).fill("5,000.00")
        page.get_by_label("Record date").fill(today.isoformat())
        page.get_by_label("Payment date").fill(today.isoformat())
        page.get_by_label("Stablecoin on-chain from the issuer's treasury").check()
        page.get_by_role("button", name="Declare").click()
        page.get_by_role("button", name="Compute the register").wait_for()
        distribution = Distribution.objects.get(offering=closed.offering)
        assert distribution.state == DistributionState.DRAFT

        # The record date goes on-chain; then the chain's clock passes the end of the day.
        drain()
        chain = Chain(rpc_url=closed.rpc_url)
        chain.rpc("evm_setNextBlockTimestamp", [int(record_moment(today).timestamp()) + 1])
        chain.rpc("evm_mine")
        chain.rpc("evm_mine")
        chain_indexed(closed.rpc_url)

        page.reload()
        page.get_by_role("button", name="Compute the register").click()
        page.get_by_role("button", name="Ask for approval").wait_for()
        register = page.locator("body").inner_text()
        assert closed.bob.legal_name in register and "Backup withholding" in register
        page.get_by_role("button", name="Ask for approval").click()
        note = page.locator("#four-eyes-note")
        assert "another admin of" in note.inner_text()
        assert page.get_by_role("button", name="Approve", exact=True).count() == 0
    finally:
        admin.close()

    second = _context(browser, live_server, finance)
    page = _page(second)
    try:
        page.goto(f"{base}/distributions/{distribution.public_id}/")
        page.get_by_role("button", name="Approve", exact=True).click()
        page.locator("#payment-progress").wait_for()
        distribution.refresh_from_db()
        assert distribution.state == DistributionState.APPROVED and distribution.approved_by == finance

        # On the payment date the worker pays; the page follows by itself until every line is paid.
        celery_worker_process("payer", {"CHAIN_RPC_URL": closed.rpc_url, "CHAIN_ID": "31337"})
        from celery import current_app as app

        def beat() -> None:
            for name in (
                "tokens.tasks.outbox_watch_task",
                "tokens.tasks.chain_index_task",
                "distributions.tasks.distributions_advance_task",
            ):
                app.send_task(name)

        wait_until(
            lambda: page.locator("#payment-done").count() == 1,
            what="the payment panel saying every line is paid",
            tick=beat,
            timeout=180,
            interval=2.0,
        )
        assert "2 lines" in page.locator("#paid-count").inner_text()
    finally:
        second.close()
    assert coin_balance(closed.rpc_url, WALLETS[2]) == BOB_NET * UNITS_PER_CENT
    bob_line = DistributionLine.objects.get(distribution=distribution, investor=closed.bob)
    assert bob_line.payment_state == LinePaymentState.PAID and bob_line.payment_reference.startswith("0x")

    holder = _context(browser, live_server, closed.bob.user)
    page = _page(holder)
    try:
        page.goto(f"{live_server.url}/portfolio/distributions/")
        row = page.locator("#distribution-lines tbody tr").first.inner_text()
        assert "3,000.00 USD" in row and "720.00 USD" in row and "2,280.00 USD" in row and "24%" in row
        assert "Paid" in row and bob_line.payment_reference[:10] in row
        assert closed.alice.legal_name not in page.content()
    finally:
        holder.close()

    agent = _context(browser, live_server, cast.agent)
    page = _page(agent)
    try:
        page.goto(f"{base}/registry/{closed.offering.public_id}/holdings/")
        page.get_by_role("link", name="Distributions", exact=True).click()
        page.get_by_role("link", name="Dividend").click()
        with page.expect_download() as info:
            page.get_by_role("link", name="Register as CSV").click()
        content = Path(info.value.path()).read_text(encoding="utf-8")
    finally:
        agent.close()
    rows = {r["Holder"]: r for r in csv.DictReader(io.StringIO(content))}
    assert rows[closed.bob.legal_name]["Withheld"] == "720.00"
    assert rows[closed.bob.legal_name]["Transaction or bank reference"] == bob_line.payment_reference
