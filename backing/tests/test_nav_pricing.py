"""Forward pricing at NAV, end to end on anvil: a subscription shows an estimate until the NAV of its dealing day is
approved, then the closing issues it at that NAV in whole units, its cost rounded up to the cent and the rest left
to be paid back; one whose day has no NAV yet waits with nothing signed. The portfolio values the holding at the
latest NAV."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from backing.models import NavPricing
from backing.services.nav import nav_terms_save
from backing.tests.test_nav import nav_approved
from core.models import AuditEvent
from investors.services.verification import investor_registry_refresh
from investors.tests.support import verified_investor
from offerings.models import Offering, OfferingStatus, Subscription, SubscriptionStatus
from offerings.pricing import subscription_quantity_note
from offerings.selectors.payments import overpayments_of
from offerings.services.closing import closing_advance, offering_close
from offerings.services.offerings import offering_publish
from offerings.tests.support import offering_draft, subscribed, wire_received
from registry.services.ledger import ledger_sync
from registry.tests.support import second_admin
from tokens.services import portal_registry_ensure
from tokens.tests.support import WALLETS, chain_indexed, drain

WEDNESDAY = dt.date(2026, 3, 4)
THURSDAY = dt.date(2026, 3, 5)


@pytest.mark.chain
@pytest.mark.django_db
def test_subscriptions_are_issued_at_the_nav_of_their_dealing_day_estimated_first_then_final(
    cast, chain_settings
) -> None:
    portal_registry_ensure()
    drain()
    offering = offering_publish(offering=offering_draft(cast.issuer, cast.admin), actor=cast.admin)
    drain()
    approver = second_admin(cast.issuer)
    nav_terms_save(offering=offering, scale=8, priced_at_nav=True, cutoff=dt.time(16, 0), actor=cast.admin)
    nav_approved(offering, cast.admin, approver, dt.date(2026, 3, 3), "10.00000000")

    alice_sub, bob_sub = None, None
    investors = []
    for wallet, amount in ((WALLETS[0], 2_000_00), (WALLETS[1], 3_000_00)):
        investor = verified_investor(accreditation="verified", wallet=wallet, register=False)
        investor_registry_refresh(investor=investor, actor=None)
        drain()
        s = subscribed(offering, investor, amount)
        wire_received(cast.issuer, cast.compliance, s, amount)
        investors.append(investor)
        if alice_sub is None:
            alice_sub = s
        else:
            bob_sub = s
    assert alice_sub is not None and bob_sub is not None
    # Alice's payment came before Wednesday's 16:00 UTC cut-off, Bob's after it: Bob deals on Thursday.
    Subscription.objects.filter(pk=alice_sub.pk).update(paid_at=dt.datetime(2026, 3, 4, 10, 0, tzinfo=dt.UTC))
    Subscription.objects.filter(pk=bob_sub.pk).update(paid_at=dt.datetime(2026, 3, 4, 17, 0, tzinfo=dt.UTC))
    alice_sub.refresh_from_db()
    # Estimated at the latest NAV: $2,000.00 at 10.00000000 a unit.
    assert alice_sub.quantity == 200
    note = subscription_quantity_note(alice_sub)
    assert "Estimated at the latest NAV, 10.00000000 USD" in note and "04 March 2026" in note
    committed = Offering.objects.get(pk=offering.pk).committed_minor

    nav_approved(offering, cast.admin, approver, WEDNESDAY, "10.23456789")
    offering_close(offering=offering, actor=cast.admin)
    closing_advance(offering_id=offering.pk)
    alice_sub.refresh_from_db()
    bob_sub.refresh_from_db()
    # Alice: 195 units (195.416…) costing $1,995.75 (1,995.740738… rounded up); $4.25 to pay back.
    assert (alice_sub.status, alice_sub.quantity, alice_sub.amount_minor) == (
        SubscriptionStatus.ALLOCATED,
        195,
        1_995_75,
    )
    # Bob's Thursday NAV is not approved: he waits, nothing is signed for him.
    assert (bob_sub.status, bob_sub.quantity, bob_sub.mint_batch_id) == (SubscriptionStatus.PAID, 300, None)
    drain()
    assert closing_advance(offering_id=offering.pk) == OfferingStatus.CLOSING

    nav_approved(offering, cast.admin, approver, THURSDAY, "10.30000000")
    closing_advance(offering_id=offering.pk)
    drain()
    assert closing_advance(offering_id=offering.pk) == OfferingStatus.CLOSED
    bob_sub.refresh_from_db()
    # Bob: $3,000.00 at 10.30000000 is 291 units (291.26…) costing exactly $2,997.30; $2.70 to pay back.
    assert (bob_sub.status, bob_sub.quantity, bob_sub.amount_minor) == (SubscriptionStatus.ISSUED, 291, 2_997_30)
    assert Offering.objects.get(pk=offering.pk).committed_minor == committed - 4_25 - 2_70
    excess = {s.pk: getattr(s, "excess_minor", None) for s in overpayments_of(issuer=cast.issuer)}
    assert excess == {alice_sub.pk: 4_25, bob_sub.pk: 2_70}  # on the issuer's money desk, to pay back
    pricing = NavPricing.objects.get(subscription=bob_sub)
    assert (pricing.estimated_quantity, pricing.quantity, pricing.residual_minor) == (300, 291, 2_70)
    assert "Final: 291 units at the NAV of 05 March 2026" in subscription_quantity_note(bob_sub)
    assert AuditEvent.objects.filter(action="subscription.priced").count() == 2

    # Asking again prices nothing twice.
    closing_advance(offering_id=offering.pk)
    assert NavPricing.objects.count() == 2

    chain_indexed(chain_settings.rpc_url)
    ledger_sync(offering=offering)
    client = Client()
    client.force_login(investors[0].user)
    status = client.get(reverse("subscription_status", args=[alice_sub.public_id])).content.decode()
    assert "195 HSCA" in status and "Final: 195 units" in status and "4.25 USD paid beyond their cost" in status
    portfolio = client.get(reverse("portfolio")).content.decode()
    # 195 units at the latest NAV, 10.30000000: $2,008.50.
    assert 'id="portfolio-nav"' in portfolio and "2,008.50 USD" in portfolio and "10.30000000 USD" in portfolio
