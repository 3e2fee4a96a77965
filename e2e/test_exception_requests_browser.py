"""An exception request decided by the issuer's transfer agent: Alice's Reg CF units are in their first year, and she
asks to transfer 60 of them to Bob, an accredited investor. An issuer admin lets the transfer agent decide such
requests, the transfer agent approves it on its page, an issuer admin approves the forced transfer it proposed on
the approvals page, and the request ends on the register; the holder reads each step."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from compliance.exemptions import Exemption
from core.tests.files import pdf_bytes
from core.tests.words import page_problems
from offerings.models import Offering
from registry.tests.conftest import Closed, offering_closed
from tokens.tests.support import WALLETS, token_balance
from transfers.models import ExceptionKind, RequestState
from transfers.services.requests import transfer_request_advance, transfer_request_file
from transfers.tests.support import indexed

pytestmark = [pytest.mark.browser, pytest.mark.chain, pytest.mark.django_db(transaction=True)]

ALICE, BOB = WALLETS[0], WALLETS[2]


def _deadline_passed(offering: Offering) -> None:
    """The portal's clock passes the Reg CF offering's deadline (open 21 days, 227.303(a)), so it closes."""
    now = timezone.now()
    Offering.objects.filter(pk=offering.pk).update(
        opens_at=now - dt.timedelta(days=22), published_at=now - dt.timedelta(days=22), closes_at=now
    )


@pytest.fixture
def crowdfunded(cast, chain_settings) -> Closed:
    closed = offering_closed(cast, chain_settings.rpc_url, exemption=Exemption.REG_CF, before_close=_deadline_passed)
    indexed(closed)
    return closed


def _page(browser, live_server, user):
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(30_000)
    return context, page


def test_the_transfer_agent_approves_an_exception_the_issuer_let_it_decide_and_an_admin_approves_it(
    crowdfunded: Closed, cast, live_server, browser, settings
) -> None:
    settings.ALLOWED_HOSTS = ["*"]
    closed = crowdfunded
    request = transfer_request_file(
        investor=closed.alice,
        offering=closed.offering,
        kind=ExceptionKind.REG_CF_ACCREDITED,
        from_wallet=ALICE,
        to_wallet=BOB,
        quantity=60,
        explanation="Selling part of my stake to Bob, an accredited investor.",
        document=SimpleUploadedFile("letter.pdf", pdf_bytes("CPA letter: Bob is accredited"), "application/pdf"),
        actor=closed.alice.user,
        idempotency_key=str(uuid.uuid4()),
    )
    slug = cast.issuer.slug
    listing = f"{live_server.url}/issuers/{slug}/transfer-requests/"
    detail = f"{live_server.url}/issuers/{slug}/transfer-requests/{request.public_id}/"
    problems: list[str] = []

    context, page = _page(browser, live_server, cast.agent)
    try:  # the transfer agent reads the request and cannot decide it yet
        page.goto(detail)
        page.get_by_text("Selling part of my stake").wait_for()
        assert page.get_by_role("button", name="Record the decision").count() == 0
    finally:
        context.close()

    context, page = _page(browser, live_server, cast.admin)
    try:
        page.goto(listing)
        assert "The issuer's admins decide these requests." in page.locator("#deciders").inner_text()
        page.get_by_label("Our transfer agent approves or refuses these requests too").check()
        page.get_by_role("button", name="Save who decides").click()
        page.get_by_text("Your transfer agent now approves or refuses transfer requests").wait_for()
        assert "and its transfer agent decide" in page.locator("#deciders").inner_text()
        problems += page_problems(page.content())
    finally:
        context.close()

    context, page = _page(browser, live_server, cast.agent)
    try:
        page.goto(detail)
        page.get_by_label("Approve: propose the transfer to another issuer admin").check()
        page.get_by_role("button", name="Record the decision").click()
        page.get_by_text("waits for another issuer admin's approval").wait_for()
        assert "waiting for an issuer admin" in page.locator("#request-state").inner_text()
        problems += page_problems(page.content())
    finally:
        context.close()
    request.refresh_from_db()
    assert request.state == RequestState.APPROVING and request.decided_by == cast.agent

    # The transfer agent proposed it, so the admin who let it decide may approve it (four eyes).
    context, page = _page(browser, live_server, cast.admin)
    try:
        page.goto(f"{live_server.url}/issuers/{slug}/approvals/")
        page.locator("tr[data-approval]").get_by_role("button", name="Approve").click()
        page.get_by_role("alert").get_by_text("Approved and done").wait_for()
    finally:
        context.close()

    indexed(closed)
    assert transfer_request_advance(request=request).state == RequestState.DONE
    assert token_balance(closed.rpc_url, closed.token, BOB) == 360

    context, page = _page(browser, live_server, closed.alice.user)
    try:
        page.goto(f"{live_server.url}/portfolio/transfer-requests/{request.public_id}/")
        page.get_by_text("Done: the register shows the units").wait_for()
        problems += page_problems(page.content())
    finally:
        context.close()
    assert not problems, "\n".join(problems)
