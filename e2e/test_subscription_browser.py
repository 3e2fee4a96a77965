"""An eligible investor subscribes, signs, pays by wire (recorded by the issuer) and by Stripe (webhook
replayed from the test), the issuer closes, and the portfolio shows the tokens with the transaction
link; an ineligible investor sees why they cannot subscribe.

The chain is a real anvil; the test runs the chain pipeline in-process between browser steps (what the
workers do). Stripe's servers are a local endpoint with Stripe's response shapes; the webhook is a real
signed payload sent to the portal.
"""

from __future__ import annotations

import re
import urllib.request

import pytest
from django.test import Client
from django.utils import timezone

from core.models import Role
from core.tests.factories import IssuerFactory, MembershipFactory, UserFactory
from investors.services.verification import investor_registry_refresh
from investors.tests.support import verified_investor
from offerings.models import Payment, Subscription, SubscriptionStatus
from offerings.services.closing import closing_advance
from offerings.tests.stripe_fake import WEBHOOK_SECRET, completed_session, event, fake_stripe, signed
from offerings.tests.support import offering_draft
from tokens.services import portal_registry_ensure
from tokens.tests.support import WALLETS, drain

pytestmark = [pytest.mark.browser, pytest.mark.chain, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(anvil_node, settings, tmp_path):
    snapshot = anvil_node.rpc("evm_snapshot")
    settings.CHAIN_RPC_URL = anvil_node.rpc_url
    settings.CHAIN_ID = 31337
    settings.CHAIN_CONFIRMATIONS = 1
    settings.CHAIN_EXPLORER_TX_URL = "https://explorer.example/tx/{hash}"
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    settings.ALLOWED_HOSTS = ["*"]
    with fake_stripe() as stripe_api:
        settings.STRIPE_SECRET_KEY = "sk_test_offerings"
        settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
        settings.STRIPE_API_BASE = stripe_api.base_url
        yield stripe_api
    anvil_node.rpc("evm_revert", [snapshot])


def _signed_in(browser, live_server, user):
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("dialog", lambda dialog: dialog.accept())
    return page


def test_subscribe_sign_pay_close_and_see_the_tokens(world, live_server, browser) -> None:
    # Wires up to 5,000.00 are booked by one admin; above that a second admin approves (not exercised here).
    issuer = IssuerFactory.create(name="Harbor Street Capital", slug="harbor", four_eyes_threshold_minor=5_000_00)
    admin = MembershipFactory.create(issuer=issuer, role=Role.ISSUER_ADMIN, user__email="admin@harbor.example").user
    portal_registry_ensure()
    drain()
    alice = verified_investor(
        user=UserFactory.create(email="alice@investor.example"),
        accreditation="verified",
        wallet=WALLETS[0],
        register=False,
        name="Alice Marchetti",
    )
    investor_registry_refresh(investor=alice, actor=None)
    ineligible = verified_investor(
        user=UserFactory.create(email="bob@investor.example"), accreditation=None, wallet=None
    )
    drain()

    # The issuer publishes an offering from the documents page (its draft and documents are ready).
    offering = offering_draft(issuer, admin, soft_cap_minor=3_000_00)
    desk = _signed_in(browser, live_server, admin)
    desk.goto(f"{live_server.url}/issuers/harbor/offerings/{offering.public_id}/documents/")
    desk.get_by_role("button", name="Publish offering").click()
    desk.get_by_text("Published.").wait_for()
    drain()

    # An ineligible investor sees every reason.
    bob = _signed_in(browser, live_server, ineligible.user)
    bob.goto(f"{live_server.url}/offerings/{offering.public_id}/")
    assert "Not yet:" in bob.locator('[data-standing="not-yet"]').inner_text()  # no Subscribe link, the step
    bob.get_by_role("link", name=re.compile("What to do")).click()
    bob.goto(f"{live_server.url}/offerings/{offering.public_id}/subscribe/")
    reasons = bob.locator("#eligibility-reasons")
    reasons.wait_for()
    assert "accredited investors whose status was verified" in reasons.inner_text()
    assert "registered on-chain" in reasons.inner_text()

    # Alice subscribes 2,000 and pays by wire.
    page = _signed_in(browser, live_server, alice.user)
    page.goto(f"{live_server.url}/offerings/")
    page.get_by_role("link", name=offering.title, exact=True).click()
    page.get_by_role("link", name="Subscribe").click()
    page.get_by_label("Amount to invest").fill("2,005")
    page.get_by_role("button", name="Check and continue").click()
    page.get_by_text("whole number of tokens").first.wait_for()
    page.get_by_label("Amount to invest").fill("2,000")
    page.get_by_role("button", name="Check and continue").click()
    page.get_by_role("heading", name="Review and sign").wait_for()
    for box in page.get_by_role("checkbox").all():
        box.check()
    page.get_by_role("button", name="Sign").click()
    page.get_by_role("heading", name="Choose how to pay").wait_for()
    page.get_by_label(re.compile("Bank wire")).check()
    page.get_by_role("button", name="Continue to payment").click()
    reference = page.locator("#wire-reference").inner_text().strip()
    first = Subscription.objects.get(wire_reference=reference)
    assert first.acceptances.count() == 2 and first.signed_ip == "127.0.0.1"

    # The issuer records the wire.
    desk.goto(f"{live_server.url}/issuers/harbor/wires/")
    desk.get_by_label("Payment reference").fill(reference)
    desk.get_by_label("Bank's reference").fill("FED20260101000042")
    desk.get_by_label("Amount", exact=True).fill("2000.00")
    desk.get_by_label("Date received").fill(timezone.localdate().isoformat())
    desk.get_by_role("button", name="Record wire").click()
    desk.get_by_text("Matched, amount as expected").first.wait_for()
    page.reload()
    assert page.locator("#subscription-status").inner_text() == "Paid"

    # A second subscription of 1,000, paid by card on Stripe's checkout.
    page.goto(f"{live_server.url}/offerings/{offering.public_id}/subscribe/")
    page.get_by_label("Amount to invest").fill("1000")
    page.get_by_role("button", name="Check and continue").click()
    for box in page.get_by_role("checkbox").all():
        box.check()
    page.get_by_role("button", name="Sign").click()
    page.get_by_label(re.compile("Stripe")).check()
    page.get_by_role("button", name="Continue to payment").click()
    page.get_by_role("link", name="Continue to secure checkout").click()
    page.get_by_text("Stripe is confirming your payment").wait_for()  # back from the hosted checkout
    payment = Payment.objects.get(provider="stripe")
    body, header = signed(
        event("checkout.session.completed", completed_session(world.sessions[payment.external_id], intent="pi_e2e"))
    )
    request = urllib.request.Request(
        f"{live_server.url}/payments/stripe/webhook/",
        data=body,
        headers={"Stripe-Signature": header, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as answer:
        assert answer.status == 200
    page.reload()
    assert page.locator("#subscription-status").inner_text() == "Paid"

    # The issuer closes; the workers' part runs here; the dashboard shows the minting.
    desk.goto(f"{live_server.url}/issuers/harbor/offerings/{offering.public_id}/dashboard/")
    desk.get_by_role("button", name="Close offering").click()
    desk.get_by_text("the soft cap is met").wait_for()
    closing_advance(offering_id=offering.pk)
    drain()
    closing_advance(offering_id=offering.pk)
    desk.reload()
    assert desk.locator("#offering-status").inner_text() == "Closed"
    assert desk.locator("#mint-holders").inner_text() == "1 of 1"

    page.goto(f"{live_server.url}/portfolio/")
    row = page.locator("#holdings tbody tr").first
    assert "300 HSCA" in row.inner_text()
    link = row.locator(".chain-ref a")
    assert link.get_attribute("href").startswith("https://explorer.example/tx/0x")
    assert Subscription.objects.filter(status=SubscriptionStatus.ISSUED).count() == 2
