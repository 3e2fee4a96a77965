"""A dividend paid by bank file, in the browser: on the payment date the issuer admin sets the account payments leave
from, writes the payment run and downloads its pain.001; the bank's camt.054 pays one holder and returns the other's
payment; the holder whose payment came back is told to give new details, does, and is paid from the next run once
the bank's pain.002 confirms it; each holder reads their line paid with the bank's reference.

The register is approved as the register service leaves it (it is computed on anvil in distributions' tests);
what is real here is the browser, the pages, the files written and read back, and the bank's answers.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from distributions.iso20022 import pain001_read, pain001_validate
from distributions.models import BankPaymentEntry, Distribution, DistributionLine, DistributionState, LinePaymentState
from distributions.tests.bank_support import approved_bank_distribution, bank_details, camt054, holders, pain002

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


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


def _upload(page, tmp_path: Path, name: str, content: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(content)
    page.get_by_label("The bank's confirmation").set_input_files(str(path))
    page.get_by_role("button", name="Upload and apply").click()
    page.locator(".alert").first.wait_for()
    return page.locator(".alert").first.inner_text()


def _entry(distribution: Distribution, investor, attempt: int = 1) -> BankPaymentEntry:
    return BankPaymentEntry.objects.get(line__distribution=distribution, line__investor=investor, attempt=attempt)


def test_the_issuer_writes_the_bank_file_applies_the_banks_answers_and_each_holder_sees_their_payment(
    cast, live_server, browser, settings, tmp_path
) -> None:
    settings.ALLOWED_HOSTS = ["*"]
    alice, bob = holders(2)
    bank_details(alice, n=0)  # an IBAN
    bank_details(bob, n=1, aba=True)  # a US account by routing number
    distribution = approved_bank_distribution(
        cast.issuer, cast.admin, cash=[(alice, 1_250_00), (bob, 300_00)], payment_date=timezone.localdate()
    )
    detail = f"{live_server.url}/issuers/{cast.issuer.slug}/distributions/{distribution.public_id}/"

    admin = _context(browser, live_server, cast.admin)
    page = _page(admin)
    try:
        page.goto(detail)
        assert "No USD account to pay from is set" in page.locator("#paying-account").inner_text()
        page.get_by_label("Account holder").fill("Harbor Street Capital LLC")
        page.get_by_label("US routing number (ABA) and account number").check()
        page.get_by_label("ABA routing number").fill("021000021")
        page.get_by_label("Account number", exact=True).fill("77001234")
        page.get_by_role("button", name="Save the USD paying account").click()
        assert "ABA 021000021" in page.locator("#paying-account").inner_text()

        page.get_by_role("button", name="Write the payment run").click()
        assert "Payment run 1 is written: 2 line(s), 1,550.00 USD" in page.locator(".alert").first.inner_text()
        with page.expect_download() as info:
            page.get_by_role("link", name="pain.001 of run 1").click()
        xml = Path(info.value.path()).read_bytes()
        pain001_validate(xml)
        written = {t.amount_minor: t for t in pain001_read(xml).transfers}
        assert written[1_250_00].iban == "DE89370400440532013000"
        assert (written[300_00].routing_number, written[300_00].account_number) == ("021000021", "4000123401")

        # The bank books Alice's payment and sends Bob's back: his account is closed.
        first = camt054([(_entry(distribution, alice), "paid"), (_entry(distribution, bob), "AC04")])
        assert "Confirmation applied: 1 paid, 1 returned." in _upload(page, tmp_path, "camt054.xml", first)
        returned = page.locator("#bank-returned").inner_text()
        assert bob.legal_name in returned and "AC04" in returned and "Account closed" in returned
        assert "1 · 1,250.00 USD" in page.locator("#bank-progress").inner_text()
    finally:
        admin.close()

    holder = _context(browser, live_server, bob.user)
    page = _page(holder)
    try:
        page.goto(f"{live_server.url}/portfolio/distributions/")
        row = page.locator("#distribution-lines tbody tr").first
        assert "Returned by the bank" in row.inner_text()
        row.get_by_role("link", name="Give new bank details").click()
        page.wait_for_url("**/account/bank-details/")
    finally:
        holder.close()
    bank_details(bob, n=2, aba=True)  # what the bank details page records (investors' own tests drive the form)

    admin = _context(browser, live_server, cast.admin)
    page = _page(admin)
    try:
        page.goto(detail)
        page.get_by_role("button", name="Write the next payment run").click()
        assert "Payment run 2 is written: 1 line(s), 300.00 USD" in page.locator(".alert").first.inner_text()
        second = pain002([(_entry(distribution, bob, attempt=2), "ACSC")])
        assert "Confirmation applied: 1 paid, 0 returned." in _upload(page, tmp_path, "pain002.xml", second)
        assert "2 · 1,550.00 USD" in page.locator("#bank-progress").inner_text()
        assert page.locator("#bank-returned").count() == 0
    finally:
        admin.close()
    distribution.refresh_from_db()
    assert distribution.state == DistributionState.PAID

    for investor, amount, reference in (
        (alice, "1,250.00 USD", "BANKREF0000"),
        (bob, "300.00 USD", f"SR-{_entry(distribution, bob, attempt=2).pk}"),
    ):
        line = DistributionLine.objects.get(distribution=distribution, investor=investor)
        assert (line.payment_state, line.payment_reference) == (LinePaymentState.PAID, reference)
        context = _context(browser, live_server, investor.user)
        page = _page(context)
        try:
            page.goto(f"{live_server.url}/portfolio/distributions/")
            row = page.locator("#distribution-lines tbody tr").first.inner_text()
            assert "Paid" in row and amount in row and reference in row
        finally:
            context.close()
