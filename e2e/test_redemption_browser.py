"""A redemption from attestation to payout, in a browser: the issuer's admin enters a reserve attestation with its PDF
and a second admin approves it; a holder asks from the portfolio to redeem units, which a real Celery worker freezes
on-chain; at the dealing day's cut-off the admin enters the NAV and asks for approval, a second admin approves; the
worker burns the units and pays the net in stablecoin; the holder reads the burn and the payout with their figures,
and anyone, not signed in, reads on the transparency page the supply after the burn, the reserves and the charts.

The chain is a real anvil; the test moves the dealing day's cut-off to now (the one thing that would otherwise wait
for the clock) and sends the beat's tasks to the worker.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from backing.models import ReserveStatement, StatementState
from backing.tests.support import profile_saved, rule_set
from compliance.exemptions import Exemption
from core.tests.files import pdf_bytes
from distributions.tests.support import second_admin
from redemptions.models import DealingDay, DealingState, RedemptionRequest, RequestState
from redemptions.tests.support import terms_set
from registry.services.ledger import ledger_sync
from registry.tests.conftest import Closed, offering_closed
from tokens.tests.support import WALLETS, chain_indexed, coin_balance, drain, payout_ready, token_balance, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.chain, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

UNITS_PER_CENT = 10_000  # the test stablecoin's 6 decimals
# 150 units at a NAV of 10.00 USD: gross 1,500.00, fee 25 bps 3.75, net 1,496.25.
NET_MINOR = 1_496_25


@pytest.fixture
def closed(cast, chain_settings) -> Closed:
    """Alice holds 200 units in wallet 0 and Bob 300 in wallet 2, indexed onto the ledger."""
    closed = offering_closed(cast, chain_settings.rpc_url, exemption=Exemption.REG_A_TIER2)
    drain()
    chain_indexed(closed.rpc_url)
    ledger_sync(offering=closed.offering)
    return closed


def _page(browser, live_server, user=None, *, width: int = 1280, height: int = 900):
    context = browser.new_context(viewport={"width": width, "height": height})
    if user is not None:
        client = Client()
        client.force_login(user)
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(30_000)
    return page


def _beat() -> None:
    from celery import current_app as app

    for name in (
        "tokens.tasks.outbox_watch_task",
        "tokens.tasks.chain_index_task",
        "registry.tasks.ledger_sync_task",
        "redemptions.tasks.redemptions_advance_task",
    ):
        app.send_task(name)


def _attestation_published(browser, live_server, closed: Closed, admin_user, approver) -> ReserveStatement:
    admin = _page(browser, live_server, admin_user)
    admin.goto(
        f"{live_server.url}/issuers/{closed.offering.issuer.slug}/offerings/{closed.offering.public_id}/backing/"
    )
    admin.get_by_role("link", name="Enter one").click()
    today = timezone.localdate().isoformat()
    for label, value in (("Reserves as of", today), ("Period from", today), ("Period to", today)):
        admin.get_by_label(label).fill(value)
    admin.get_by_label("Attestor", exact=True).fill("Moss & Partners LLP")
    admin.get_by_label("Attestation or audit report (PDF)").set_input_files(
        files=[{"name": "reserves.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes("reserves of the fund")}]
    )
    admin.locator("#id_lines-0-asset_kind").select_option("cash")
    admin.locator("#id_lines-0-custodian").fill("First Bank")
    admin.locator("#id_lines-0-amount").fill("6,000.00")
    admin.get_by_role("button", name="Record the statement").click()
    admin.wait_for_selector("#statement-state")
    assert "Waiting for a second admin" in admin.locator("#statement-state").inner_text()
    admin.context.close()
    statement = ReserveStatement.objects.get(offering=closed.offering)

    second = _page(browser, live_server, approver)
    second.goto(f"{live_server.url}/issuers/{closed.offering.issuer.slug}/reserve-statements/{statement.public_id}/")
    assert second.get_by_role("button", name="Approve").count() == 1
    second.get_by_role("button", name="Approve").click()
    second.wait_for_selector("text=Approved: this is now")
    second.context.close()
    statement.refresh_from_db()
    assert statement.state == StatementState.APPROVED
    return statement


def test_a_holder_redeems_at_the_dealing_day_and_reads_the_burn_and_the_payout(
    closed, cast, live_server, browser, settings, celery_worker_process
) -> None:
    settings.ALLOWED_HOSTS = ["*"]
    offering = closed.offering
    payout_ready(treasury_units=2_000_00 * UNITS_PER_CENT)
    finance = second_admin(cast.issuer, "finance@harbor.example")
    profile_saved(offering, cast.admin)
    rule_set(offering, cast.admin, per_token="10.00", approver=finance)  # 500 units need 5,000.00 USD
    terms_set(offering, cast.admin, cutoff_time=dt.time(23, 59), fee_bps=25)
    statement = _attestation_published(browser, live_server, closed, cast.admin, finance)
    coin_before = coin_balance(closed.rpc_url, WALLETS[0])
    celery_worker_process("redeemer", {"CHAIN_RPC_URL": closed.rpc_url, "CHAIN_ID": "31337"})

    # The holder asks from the portfolio; the worker freezes the units on-chain.
    holder = _page(browser, live_server, closed.alice.user)
    holder.goto(f"{live_server.url}/portfolio/redemptions/")
    holder.get_by_label("Units to redeem").fill("201")
    holder.get_by_role("button", name="Request redemption").click()
    holder.wait_for_selector("text=can redeem at most 200 units")
    assert not RedemptionRequest.objects.exists()
    holder.get_by_label("Units to redeem").fill("150")
    holder.get_by_role("button", name="Request redemption").click()
    holder.wait_for_selector(".request-state")
    request = RedemptionRequest.objects.get()
    assert request.quantity == 150 and request.wallet == WALLETS[0]
    wait_until(
        lambda: RedemptionRequest.objects.get().state == RequestState.PENDING,
        what="the request's units frozen on-chain",
        tick=_beat,
        timeout=120,
        interval=2.0,
    )
    # The page follows a request being frozen and reloads itself once it is (a reload of the test's own would race
    # the page's and be aborted).
    holder.wait_for_selector(f"#request-{request.public_id} .request-steps >> text=Frozen in your wallet")
    steps = holder.locator(f"#request-{request.public_id} .request-steps").inner_text()
    assert "Frozen in your wallet" in steps and "you can cancel until then" in steps
    assert holder.get_by_role("button", name="Cancel this request").count() == 1

    # The cut-off passes; the issuer's admin prices the day at its NAV and asks for approval.
    day = DealingDay.objects.get()
    DealingDay.objects.filter(pk=day.pk).update(cutoff_at=timezone.now() - dt.timedelta(seconds=1))
    admin = _page(browser, live_server, cast.admin)
    admin.goto(f"{live_server.url}/issuers/{cast.issuer.slug}/offerings/{offering.public_id}/redemptions/")
    admin.get_by_role("link", name=day.dealing_date.strftime("%-d %b %Y")).click()
    admin.get_by_label("NAV per unit").fill("10.00")
    admin.get_by_label("Source").fill("Administrator's NAV statement of the day")
    admin.get_by_role("button", name="Enter the NAV").click()
    admin.get_by_role("button", name="Ask for approval").click()
    admin.wait_for_selector("text=another admin of")
    assert admin.get_by_role("button", name="Approve", exact=True).count() == 0
    admin.context.close()
    day.refresh_from_db()
    assert day.state == DealingState.PROPOSED and day.total_net_minor == NET_MINOR

    second = _page(browser, live_server, finance)
    second.goto(f"{live_server.url}/issuers/{cast.issuer.slug}/redemptions/{day.public_id}/")
    assert "1,496.25 USD" in second.locator("body").inner_text()
    second.get_by_role("button", name="Approve", exact=True).click()
    second.wait_for_selector("text=Approved.")
    second.context.close()

    # The worker burns and pays; the holder reads each step with its figures.
    wait_until(
        lambda: DealingDay.objects.get(pk=day.pk).state == DealingState.SETTLED,
        what="the dealing day burned and paid",
        tick=_beat,
        timeout=180,
        interval=2.0,
    )
    request.refresh_from_db()
    assert request.state == RequestState.PAID and request.net_minor == NET_MINOR
    assert token_balance(closed.rpc_url, closed.token, WALLETS[0]) == 50
    assert coin_balance(closed.rpc_url, WALLETS[0]) - coin_before == NET_MINOR * UNITS_PER_CENT
    holder.reload()
    steps = holder.locator(f"#request-{request.public_id} .request-steps").inner_text()
    assert "Priced at 10.00000000 USD a unit: 150 units redeemed" in steps
    assert "gross 1,500.00 USD, fee 3.75 USD" in steps and "net 1,496.25 USD" in steps
    assert "Burned on" in steps and request.burn_reference[:10] in steps
    assert "Paid 1,496.25 USD on" in steps and request.payment_reference[:10] in steps
    assert holder.locator(".request-state").first.inner_text() == "Paid"
    assert holder.get_by_role("button", name="Cancel this request").count() == 0
    holder.context.close()

    # Anyone reads the supply after the burn against the attested reserves.
    wait_until(
        lambda: _supply_indexed(offering) == 350, what="the burn on the ledger", tick=_beat, timeout=60, interval=2.0
    )
    reader = _page(browser, live_server)
    reader.goto(f"{live_server.url}/transparency/{offering.public_id}/")
    reader.wait_for_selector("#key-figures")
    assert reader.locator("#supply").inner_text().startswith("350")
    assert reader.locator("#reserves").inner_text() == "6,000.00 USD"
    assert reader.locator("#ratio").inner_text() == "171.42%"  # 6,000.00 over the 3,500.00 that 350 units need
    for chart in ("chart-composition", "chart-history"):
        assert reader.evaluate(f"() => !!window.Chart.getChart('{chart}')"), chart
    assert statement.document_sha256 in reader.locator("#attestations").inner_text()
    assert closed.alice.user.email not in reader.content() and closed.alice.legal_name not in reader.content()
    reader.context.close()


def _supply_indexed(offering) -> int:
    from registry.selectors.ledger import AsOf, ledger_total

    return ledger_total(offering=offering, as_of=AsOf(at=timezone.now()))
