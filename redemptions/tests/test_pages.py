"""Redemption pages on a real anvil: the issuer admin opens redemptions on the page, the holder asks and cancels
from the portfolio, the issuer enters the NAV, asks for approval and a second admin approves; the holder reads
each step with its figures; what a form gets wrong is said next to it and nothing is recorded."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from redemptions.models import DealingDay, DealingState, RedemptionRequest, RedemptionTerms, RequestState
from redemptions.services.settling import dealing_day_settle
from redemptions.tests.support import settled_on_chain
from registry.tests.conftest import Closed
from registry.tests.support import second_admin
from tokens.tests.support import WALLETS, payout_ready

pytestmark = [pytest.mark.chain]
UNITS_PER_CENT = 10_000


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _terms(closed: Closed) -> dict[str, str]:
    return {
        "active": "on",
        "frequency": "daily",
        "cutoff_time": "16:00",
        "cutoff_timezone": "America/New_York",
        "notice_days": "0",
        "minimum_units": "5",
        "fee_bps": "25",
        "gate_bps": "",
        "allowed_countries": "us",
        "payout_method": "stablecoin",
    }


def _ask(client: Client, closed: Closed, quantity: str, token: str | None = None) -> str:
    page = client.post(
        reverse("investor_redemptions"),
        {
            "offering": str(closed.offering.public_id),
            "form_token": token or str(uuid.uuid4()),
            "wallet": WALLETS[0],
            "quantity": quantity,
        },
        follow=True,
    )
    assert page.status_code == 200
    return page.content.decode()


@pytest.mark.django_db
def test_from_terms_on_the_page_to_the_holder_reading_the_burn_and_the_payout(closed: Closed, cast) -> None:
    payout_ready(treasury_units=1_000_00 * UNITS_PER_CENT)
    admin = _client(cast.admin)
    terms_url = reverse("redemption_terms", args=[cast.issuer.slug, closed.offering.public_id])
    bad = admin.post(terms_url, {**_terms(closed), "cutoff_timezone": "Mars/Olympus"})
    assert bad.status_code == 200 and "is not a time zone" in bad.content.decode()
    assert not RedemptionTerms.objects.exists()
    assert admin.post(terms_url, _terms(closed)).status_code == 302
    terms = RedemptionTerms.objects.get(offering=closed.offering)
    assert terms.allowed_countries == ["US"] and terms.cutoff_time == dt.time(16, 0)

    holder = _client(closed.alice.user)
    page = holder.get(reverse("investor_redemptions")).content.decode()
    assert f"Redeem {closed.offering.token_symbol}" in page and "0.25% of the gross" in page
    assert "The minimum redemption is 5 units." in _ask(holder, closed, "4")
    assert "can redeem at most 200 units" in _ask(holder, closed, "201")
    assert not RedemptionRequest.objects.exists()
    token = str(uuid.uuid4())
    shown = _ask(holder, closed, "150", token)
    assert "are being frozen in your wallet" in shown and "Being frozen on-chain" in shown
    _ask(holder, closed, "150", token)  # the same form again: the same request
    request = RedemptionRequest.objects.get()
    settled_on_chain(closed)
    assert "Frozen in your wallet" in holder.get(reverse("investor_redemptions")).content.decode()

    day = DealingDay.objects.get()
    DealingDay.objects.filter(pk=day.pk).update(cutoff_at=timezone.now() - dt.timedelta(seconds=1))
    day_url = reverse("dealing_day_detail", args=[cast.issuer.slug, day.public_id])
    nav_url = reverse("dealing_day_nav", args=[cast.issuer.slug, day.public_id])
    refused = admin.post(nav_url, {"nav": "1.0234567891", "source": "NAV statement"}, follow=True).content.decode()
    assert "at most 8 decimal places" in refused
    priced = admin.post(nav_url, {"nav": "1.02345678", "source": "NAV statement"}, follow=True).content.decode()
    assert "the dealing day priced" in priced and "153.13 USD" in priced
    day.refresh_from_db()
    assert day.state == DealingState.PRICED

    admin.post(reverse("dealing_day_propose", args=[cast.issuer.slug, day.public_id]))
    own = admin.get(day_url).content.decode()
    assert "another admin of" in own and ">Approve<" not in own
    second = _client(second_admin(cast.issuer))
    assert ">Approve<" in second.get(day_url).content.decode()
    second.post(reverse("dealing_day_decide", args=[cast.issuer.slug, day.public_id]), {"decision": "approve"})
    day.refresh_from_db()
    assert day.state == DealingState.SETTLING

    priced_view = holder.get(reverse("investor_redemptions")).content.decode()
    assert "Priced at 1.02345678 USD a unit: 150 units redeemed" in priced_view
    assert "gross 153.51 USD, fee 0.38 USD" in priced_view and "net 153.13 USD" in priced_view
    for _ in range(10):
        dealing_day_settle(day_id=day.pk)
        settled_on_chain(closed)
        if DealingDay.objects.get(pk=day.pk).state == DealingState.SETTLED:
            break
    request.refresh_from_db()
    assert request.state == RequestState.PAID
    done = holder.get(reverse("investor_redemptions")).content.decode()
    assert "Burned on" in done and request.burn_reference[:12] in done
    assert "Paid 153.13 USD on" in done and request.payment_reference[:12] in done
    assert "Settled: every line burned and paid" in admin.get(day_url).content.decode()
    dashboard = admin.get(reverse("offering_dashboard", args=[cast.issuer.slug, closed.offering.public_id]))
    assert "Dealing day" in dashboard.content.decode()


@pytest.mark.django_db
def test_the_holder_cancels_from_the_page_and_nobody_else_can(closed: Closed, cast) -> None:
    admin = _client(cast.admin)
    admin.post(reverse("redemption_terms", args=[cast.issuer.slug, closed.offering.public_id]), _terms(closed))
    holder = _client(closed.alice.user)
    _ask(holder, closed, "20")
    request = RedemptionRequest.objects.get()
    cancel_url = reverse("investor_redemption_cancel", args=[request.public_id])
    assert _client(closed.bob.user).post(cancel_url).status_code == 404
    page = holder.post(cancel_url, follow=True).content.decode()
    # Cancelled before its freeze batch was sent: nothing was frozen, nothing is sent.
    assert "Cancelled before anything was frozen: your units are free." in page and "Cancelled on" in page
    request.refresh_from_db()
    assert request.state == RequestState.CANCELLED and request.freeze_transaction is None
    assert request.cancel_transaction is None
