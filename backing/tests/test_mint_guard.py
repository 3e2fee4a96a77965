"""Mints guarded by reserves, on a real anvil: a closing beyond the attested reserves, or after the attestation
went stale, is refused before anything is signed, with a reason the issuer can read; a backed one mints."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from backing.guard import backing_mint_check
from backing.models import BackingCondition
from backing.selectors import backing_mint_allowance
from backing.services.checks import backing_check
from backing.tasks import backing_alert_task
from backing.tests.support import other_admin, rule_set, statement_approved
from core.errors import ApplicationError
from investors.services.verification import investor_registry_refresh
from investors.tests.support import verified_investor
from offerings.models import OfferingStatus, SubscriptionStatus
from offerings.services.closing import closing_advance, offering_close
from offerings.services.offerings import offering_publish
from offerings.tests.support import offering_draft, subscribed, wire_received
from registry.services.ledger import ledger_sync
from registry.tests.support import second_admin
from tokens.models import ChainTransaction
from tokens.services import MintRefused, portal_registry_ensure, token_mint
from tokens.tests.support import WALLETS, chain_indexed, drain


@pytest.fixture
def paid_offering(cast, chain_settings):
    """Alice paid for 200 units and Bob for 300 at $10.00 a unit; the token is deployed on anvil."""
    portal_registry_ensure()
    drain()
    offering = offering_publish(offering=offering_draft(cast.issuer, cast.admin), actor=cast.admin)
    drain()
    for wallet, amount in ((WALLETS[0], 2_000_00), (WALLETS[1], 3_000_00)):
        investor = verified_investor(accreditation="verified", wallet=wallet, register=False)
        investor_registry_refresh(investor=investor, actor=None)
        drain()
        s = subscribed(offering, investor, amount)
        wire_received(cast.issuer, cast.compliance, s, amount)
        s.refresh_from_db()
        assert s.status == SubscriptionStatus.PAID
    rule_set(offering, cast.admin, per_token="10.00", staleness_days=30)
    return offering


def _minted(offering) -> int:
    return ChainTransaction.objects.filter(idempotency_key__startswith=f"close:{offering.pk}:").count()


@pytest.mark.chain
@pytest.mark.django_db
def test_a_closing_beyond_the_attested_reserves_is_refused_before_signing(cast, paid_offering) -> None:
    # $4,000.00 of reserves back 400 units; the close would mint 500.
    statement_approved(paid_offering, cast.admin, second_admin(cast.issuer), 4_000_00)
    with pytest.raises(ApplicationError) as refused:
        offering_close(offering=paid_offering, actor=cast.admin)
    message = refused.value.message
    assert "Minting 500" in message and "exceed the attested reserves" in message
    assert "4,000.00 USD" in message and "back 400 units" in message and "Mint at most 400" in message
    paid_offering.refresh_from_db()
    assert paid_offering.status == OfferingStatus.OPEN
    assert _minted(paid_offering) == 0


@pytest.mark.chain
@pytest.mark.django_db
def test_a_stale_attestation_stops_the_closing_mint(cast, paid_offering) -> None:
    old = timezone.localdate() - dt.timedelta(days=31)
    statement_approved(paid_offering, cast.admin, second_admin(cast.issuer), 1_000_000_00, as_of=old)
    with pytest.raises(ApplicationError) as refused:
        offering_close(offering=paid_offering, actor=cast.admin)
    assert "31 days ago, older than the 30-day limit" in refused.value.message
    assert _minted(paid_offering) == 0


@pytest.mark.chain
@pytest.mark.django_db
def test_a_backed_closing_mints_and_the_queued_mints_count_against_what_is_left(cast, paid_offering) -> None:
    statement_approved(paid_offering, cast.admin, second_admin(cast.issuer), 5_100_00)  # backs 510 units
    offering_close(offering=paid_offering, actor=cast.admin)
    closing_advance(offering_id=paid_offering.pk)
    # Queued but not yet mined: the allowance already counts the 500 units.
    assert backing_mint_allowance(offering=paid_offering).units == 10
    drain()
    assert closing_advance(offering_id=paid_offering.pk) == OfferingStatus.CLOSED
    allowance = backing_mint_allowance(offering=paid_offering)
    assert allowance.supply is not None and allowance.supply.on_chain == 500 and allowance.units == 10
    backing_mint_check(offering=paid_offering, units=10)
    # An agent mint through the portal is guarded the same way, before its outbox row is written.
    with pytest.raises(MintRefused, match="Minting 11"):
        token_mint(owner_ref=paid_offering.owner_ref, wallet=WALLETS[0], amount=11, idempotency_key="agent-mint-11")
    assert not ChainTransaction.objects.filter(idempotency_key="agent-mint-11").exists()


@pytest.mark.chain
@pytest.mark.django_db
def test_the_daily_check_finds_an_under_collateralised_token_and_alerts_once(
    cast, paid_offering, chain_settings, django_capture_on_commit_callbacks
) -> None:
    approver = other_admin(cast.issuer, cast.admin)  # the admin who approved the rule: two admins in all
    statement_approved(paid_offering, cast.admin, approver, 5_000_00)
    offering_close(offering=paid_offering, actor=cast.admin)
    closing_advance(offering_id=paid_offering.pk)
    drain()
    closing_advance(offering_id=paid_offering.pk)
    chain_indexed(chain_settings.rpc_url)
    ledger_sync(offering=paid_offering)
    status = backing_check(offering_id=paid_offering.pk)
    assert status is not None and status.condition == BackingCondition.BACKED and status.supply == 500
    # A later attestation shows less: the 500 units are no longer backed.
    statement_approved(paid_offering, cast.admin, approver, 4_500_00)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=False) as queued:
        status = backing_check(offering_id=paid_offering.pk)
    assert status is not None and status.condition == BackingCondition.UNDER_COLLATERALISED
    assert "500 units need 5,000.00 USD" in status.detail and "4,500.00 USD" in status.detail
    assert len(queued) == 1
    assert backing_alert_task(status.pk) == 2  # both admins of the issuer
    assert sorted(m.to[0] for m in mail.outbox) == sorted([cast.admin.email, approver.email])
    assert "under-collateralised" in mail.outbox[0].subject and "4,500.00 USD" in mail.outbox[0].body
    # The next day's check finds the same condition: nothing queued, the onset is kept.
    since = status.since
    with django_capture_on_commit_callbacks(execute=False) as queued:
        status = backing_check(offering_id=paid_offering.pk, now=timezone.now() + dt.timedelta(days=1))
    assert status is not None and status.condition == BackingCondition.UNDER_COLLATERALISED and status.since == since
    assert not queued
