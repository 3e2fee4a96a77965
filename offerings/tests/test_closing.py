"""Closing: mint to paid subscriptions on a real anvil in batches, resume after an interruption without
minting twice, and refund everyone when the soft cap is missed."""

from __future__ import annotations

import pytest
from django.utils import timezone

from core.errors import ApplicationError
from investors.services.verification import investor_registry_refresh
from investors.tests.support import verified_investor
from offerings.models import CloseOutcome, MintBatch, OfferingStatus, RefundStatus, SubscriptionStatus
from offerings.services import closing
from offerings.services.closing import closing_advance, offering_close
from offerings.services.offerings import offering_publish
from offerings.services.subscriptions import subscription_create
from offerings.tests.support import offering_draft, offering_in_time, offering_open, subscribed, wire_received
from tokens.models import ChainTransaction, ContractDeployment
from tokens.services import portal_registry_ensure
from tokens.tests.support import WALLETS, drain, token_balance


def _paid(cast, offering, investor, amount: int):
    s = subscribed(offering, investor, amount)
    wire_received(cast.issuer, cast.compliance, s, amount)
    s.refresh_from_db()
    assert s.status == SubscriptionStatus.PAID
    return s


@pytest.fixture
def chain_offering(cast, chain_settings, settings):
    """A published offering on anvil and three investors registered on-chain."""
    settings.CLOSING_MINT_MAX_HOLDERS = 1
    portal_registry_ensure()
    drain()
    investors = []
    for wallet in WALLETS[:3]:
        investor = verified_investor(accreditation="verified", wallet=wallet, register=False)
        investor_registry_refresh(investor=investor, actor=None)
        investors.append(investor)
    offering = offering_draft(cast.issuer, cast.admin)
    offering = offering_publish(offering=offering, actor=cast.admin)
    drain()
    return offering, investors


@pytest.mark.chain
@pytest.mark.django_db
def test_closing_mints_each_paid_subscription_once_even_when_interrupted(
    cast, chain_offering, chain_settings, monkeypatch
) -> None:
    offering, investors = chain_offering
    amounts = [2_000_00, 3_000_00, 1_500_00]
    for investor, amount in zip(investors, amounts, strict=True):
        _paid(cast, offering, investor, amount)
    unpaid_investor = verified_investor(accreditation="verified", wallet=WALLETS[3], register=False)
    investor_registry_refresh(investor=unpaid_investor, actor=None)
    drain()
    unpaid = subscription_create(
        offering=offering, investor=unpaid_investor, actor=unpaid_investor.user, amount_minor=1_000_00
    )

    # The close writes its state change with the first batch; then the worker dies mid-way.
    offering = offering_close(offering=offering, actor=cast.admin)
    assert offering.status == OfferingStatus.CLOSING and offering.close_outcome == CloseOutcome.MINT
    real_mint = closing.chain.token_batch_mint
    calls = {"n": 0}

    def dies_on_second(**kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise ConnectionError("worker killed")
        return real_mint(**kwargs)

    monkeypatch.setattr(closing.chain, "token_batch_mint", dies_on_second)
    with pytest.raises(ConnectionError):
        closing_advance(offering_id=offering.pk)
    monkeypatch.setattr(closing.chain, "token_batch_mint", real_mint)
    closing_advance(offering_id=offering.pk)  # resumed: carries on after the last committed batch
    closing_advance(offering_id=offering.pk)  # and again: nothing new
    assert MintBatch.objects.filter(offering=offering).count() == 3
    assert ChainTransaction.objects.filter(idempotency_key__startswith=f"close:{offering.pk}:").count() == 3
    drain()
    assert closing_advance(offering_id=offering.pk) == OfferingStatus.CLOSED

    token = ContractDeployment.objects.get(owner_ref=offering.owner_ref)
    for investor, amount in zip(investors, amounts, strict=True):
        assert (
            token_balance(chain_settings.rpc_url, token, investor.wallets.get().address)
            == amount // offering.price_minor
        )
    unpaid.refresh_from_db()
    assert unpaid.status == SubscriptionStatus.CANCELLED
    assert token_balance(chain_settings.rpc_url, token, WALLETS[3]) == 0


@pytest.mark.django_db
def test_a_missed_soft_cap_refunds_every_payment_once(cast) -> None:
    offering = offering_open(cast.issuer, cast.admin, soft_cap_minor=50_000_00)
    paid = [_paid(cast, offering, verified_investor(accreditation="verified"), 2_000_00) for _ in range(3)]
    offering = offering_close(offering=offering, actor=cast.admin)
    assert offering.close_outcome == CloseOutcome.REFUND
    closing_advance(offering_id=offering.pk)
    closing_advance(offering_id=offering.pk)
    offering.refresh_from_db()
    assert offering.status == OfferingStatus.FAILED
    for s in paid:
        s.refresh_from_db()
        assert s.status == SubscriptionStatus.CANCELLED
        refund = s.refunds.get()
        assert refund.amount_minor == 2_000_00 and refund.status == RefundStatus.REQUESTED
    assert not ChainTransaction.objects.filter(idempotency_key__startswith=f"close:{offering.pk}:").exists()


@pytest.mark.django_db
def test_reg_cf_cannot_close_before_21_days(cast) -> None:
    import datetime as dt

    offering = offering_open(
        cast.issuer,
        cast.admin,
        exemption="reg_cf",
        min_investment_minor=100_00,
        closes_at=timezone.now() + dt.timedelta(days=40),
    )
    offering = offering_in_time(offering, opened_at=timezone.now() - dt.timedelta(days=3))
    with pytest.raises(ApplicationError) as refused:
        offering_close(offering=offering, actor=cast.admin)
    assert "no earlier than 21 days after opening" in refused.value.message


@pytest.mark.django_db
def test_closing_decides_the_soft_cap_again_after_dropping_ineligible_subscriptions(cast) -> None:
    import datetime as dt

    offering = offering_open(cast.issuer, cast.admin, soft_cap_minor=5_000_00)
    stays = _paid(cast, offering, verified_investor(accreditation="verified"), 3_000_00)
    lapsed_investor = verified_investor(accreditation="verified")
    lapses = _paid(cast, offering, lapsed_investor, 3_000_00)
    # Paid 6,000 against a 5,000 soft cap; then one investor's identity verification expires.
    type(lapsed_investor).objects.filter(pk=lapsed_investor.pk).update(
        kyc_expires_at=timezone.now() - dt.timedelta(days=1)
    )

    offering = offering_close(offering=offering, actor=cast.admin)
    closing_advance(offering_id=offering.pk)

    offering.refresh_from_db()
    lapses.refresh_from_db()
    stays.refresh_from_db()
    assert lapses.status == SubscriptionStatus.REJECTED and "identity verification has expired" in lapses.status_reason
    assert offering.close_outcome == CloseOutcome.REFUND and offering.status == OfferingStatus.FAILED
    assert stays.status == SubscriptionStatus.CANCELLED and stays.refunds.get().amount_minor == 3_000_00
    assert not MintBatch.objects.filter(offering=offering).exists()


def _registry_flags_dropped(investor, wallet: str) -> None:
    """The on-chain registry stops holding the investor's accreditation (the portal's records still do)."""
    from tokens.models import RegistryInvestor
    from tokens.services import InvestorFlag, registry_investor_sync

    row = RegistryInvestor.objects.get(investor_ref=investor.reference)
    registry_investor_sync(
        investor_ref=investor.reference,
        country_numeric=row.country,
        flags=row.flags & ~int(InvestorFlag.ACCREDITED),
        expires_at=investor.kyc_expires_at,
        wallets=[wallet],
    )


@pytest.mark.chain
@pytest.mark.django_db
def test_a_failed_mint_batch_is_retried_from_the_dashboard_after_the_chain_shows_nothing_minted(
    cast, chain_offering, chain_settings
) -> None:
    from django.test import Client

    from tokens.services import transaction_retry

    offering, investors = chain_offering
    _paid(cast, offering, investors[0], 3_000_00)
    _paid(cast, offering, investors[1], 4_000_00)
    _registry_flags_dropped(investors[1], WALLETS[1])
    drain()

    offering = offering_close(offering=offering, actor=cast.admin)
    closing_advance(offering_id=offering.pk)
    drain(failures_allowed=True)
    assert closing_advance(offering_id=offering.pk) == OfferingStatus.CLOSING
    failed = MintBatch.objects.get(offering=offering, number=2)
    assert failed.chain_transaction.status == "failed"

    admin = Client()
    admin.force_login(cast.admin)
    dashboard = f"/issuers/{cast.issuer.slug}/offerings/{offering.public_id}/dashboard/"
    page = admin.get(dashboard).content.decode()
    assert "Mint batch 2 (1 holder) failed" in page and "Check the chain and try batch 2 again" in page
    waiting = failed.subscriptions.get()
    holder = Client()
    holder.force_login(investors[1].user)
    status_page = holder.get(f"/subscriptions/{waiting.public_id}/").content.decode()
    assert "The transaction minting your tokens failed" in status_page
    # The chain page's retry does not send a closing mint: only the offering's retry checks the chain first.
    with pytest.raises(ApplicationError) as refused:
        transaction_retry(tx=failed.chain_transaction, actor=None)
    assert "retry it from the offering's dashboard" in refused.value.message

    investor_registry_refresh(investor=investors[1], actor=None)  # the registry holds the investor again
    drain(failures_allowed=True)  # (the failed batch stays failed)
    response = admin.post(f"/issuers/{cast.issuer.slug}/offerings/{offering.public_id}/batches/{failed.pk}/retry/")
    assert response.status_code == 302
    assert "Nothing of batch 2 is on-chain" in admin.get(dashboard).content.decode()
    failed.refresh_from_db()
    assert failed.released_at is not None
    closing_advance(offering_id=offering.pk)
    drain(failures_allowed=True)
    assert closing_advance(offering_id=offering.pk) == OfferingStatus.CLOSED

    token = ContractDeployment.objects.get(owner_ref=offering.owner_ref)
    assert token_balance(chain_settings.rpc_url, token, WALLETS[0]) == 3_000_00 // offering.price_minor
    assert token_balance(chain_settings.rpc_url, token, WALLETS[1]) == 4_000_00 // offering.price_minor
    assert MintBatch.objects.filter(offering=offering, released_at__isnull=True).count() == 2
    with pytest.raises(ApplicationError):
        transaction_retry(tx=failed.chain_transaction, actor=None)  # a released batch is never sent again


@pytest.mark.chain
@pytest.mark.django_db
def test_a_mint_batch_marked_failed_but_minted_on_chain_is_settled_not_sent_again(
    cast, chain_offering, chain_settings
) -> None:
    from offerings.services.closing import MintFinding, mint_batch_retry

    offering, investors = chain_offering
    subscription = _paid(cast, offering, investors[0], 6_000_00)
    offering = offering_close(offering=offering, actor=cast.admin)
    closing_advance(offering_id=offering.pk)
    drain()
    batch = MintBatch.objects.get(offering=offering)
    # Its receipt was read as failed (a reorg, a node that lost it), yet the tokens are on-chain.
    ChainTransaction.objects.filter(pk=batch.chain_transaction_id).update(status="failed", last_error="lost")

    assert mint_batch_retry(batch=batch, actor=cast.admin) == MintFinding.MINTED

    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.ISSUED
    assert closing_advance(offering_id=offering.pk) == OfferingStatus.CLOSED
    token = ContractDeployment.objects.get(owner_ref=offering.owner_ref)
    assert token_balance(chain_settings.rpc_url, token, WALLETS[0]) == 6_000_00 // offering.price_minor
    assert MintBatch.objects.filter(offering=offering).count() == 1
