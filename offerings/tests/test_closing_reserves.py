"""Closing an offering whose token is guarded by its reserves, on a real anvil: the mints go through the
token's reserve-guarded minter, and the batch the attested reserve does not back waits with the reason
on the issuer's dashboard."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from investors.services.verification import investor_registry_refresh
from investors.tests.support import verified_investor
from offerings.models import MintBatch, OfferingStatus, SubscriptionStatus
from offerings.services.closing import closing_advance, offering_close
from offerings.services.offerings import offering_publish
from offerings.tests.support import offering_draft, subscribed, wire_received
from tokens.models import ContractDeployment
from tokens.selectors import chain_head_time, reserve_minter_of
from tokens.services import (
    BackingRule,
    portal_registry_ensure,
    reserve_feed_deploy,
    reserve_feed_publish,
    reserve_minter_authorize,
    reserve_minter_deploy,
)
from tokens.tests.support import WALLETS, drain, token_balance

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


@pytest.fixture
def guarded_offering(cast, chain_settings, settings):
    """A published offering on anvil, its token guarded by a feed in cents (1 unit = its price), and two
    investors registered on-chain with paid subscriptions of 300 and 400 units."""
    settings.CLOSING_MINT_MAX_HOLDERS = 1
    portal_registry_ensure()
    drain()
    investors = []
    for wallet in WALLETS[:2]:
        investor = verified_investor(accreditation="verified", wallet=wallet, register=False)
        investor_registry_refresh(investor=investor, actor=None)
        investors.append(investor)
    offering = offering_publish(offering=offering_draft(cast.issuer, cast.admin), actor=cast.admin)
    drain()
    owner = offering.owner_ref
    reserve_feed_deploy(owner_ref=owner, decimals=2, description=f"{offering.token_symbol} reserves (USD)")
    drain()
    rule = BackingRule(
        numerator=offering.price_minor, denominator=1, staleness_seconds=int(timedelta(days=35).total_seconds())
    )
    reserve_minter_deploy(owner_ref=owner, rule=rule)
    drain()
    reserve_minter_authorize(owner_ref=owner)
    drain()
    for investor, amount in zip(investors, (3_000_00, 4_000_00), strict=True):
        s = subscribed(offering, investor, amount)
        wire_received(cast.issuer, cast.compliance, s, amount)
        s.refresh_from_db()
        assert s.status == SubscriptionStatus.PAID
    return offering


def test_a_closing_beyond_the_attested_reserve_mints_what_is_backed_and_says_why_the_rest_waits(
    cast, guarded_offering, chain_settings
) -> None:
    offering = guarded_offering
    owner = offering.owner_ref
    # $5,000.00 attested: 500 units at $10.00 are backed, 700 were sold.
    reserve_feed_publish(owner_ref=owner, reserve=5_000_00, as_of=chain_head_time(), idempotency_key="statement-1")
    drain()
    offering = offering_close(offering=offering, actor=cast.admin)
    closing_advance(offering_id=offering.pk)
    drain(failures_allowed=True)
    assert closing_advance(offering_id=offering.pk) == OfferingStatus.CLOSING

    minter = reserve_minter_of(owner)
    assert minter is not None
    first, second = MintBatch.objects.filter(offering=offering).order_by("number")
    assert first.chain_transaction.to_address == second.chain_transaction.to_address == minter.address
    assert first.chain_transaction.status == "confirmed"
    assert (second.chain_transaction.status, second.chain_transaction.error_name) == ("failed", "ReserveExceeded")
    token = ContractDeployment.objects.get(kind="security_token", owner_ref=owner)
    assert token_balance(chain_settings.rpc_url, token, WALLETS[0]) == 300
    assert token_balance(chain_settings.rpc_url, token, WALLETS[1]) == 0

    admin = Client()
    admin.force_login(cast.admin)
    page = admin.get(f"/issuers/{cast.issuer.slug}/offerings/{offering.public_id}/dashboard/").content.decode()
    assert (
        "Mint batch 2 (1 holder) failed:</strong> Not minted: the supply would become 700 units, but the latest "
        "attested reserve (report 1: 500,000) backs only 500. Publish an attestation of more reserves, or mint less."
        " The offering stays in closing" in page
    )
