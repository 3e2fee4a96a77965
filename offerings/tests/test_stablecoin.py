"""Paying in stablecoin on a real anvil: the transfer is read back, matched by sender and amount,
credited once; a wrong amount or an unknown sender is flagged, never guessed; refunds go back on-chain."""

from __future__ import annotations

import pytest

from investors.services.verification import investor_registry_refresh
from investors.tests.support import verified_investor
from offerings.models import (
    PaymentEntry,
    PaymentStatus,
    RefundStatus,
    StablecoinMatch,
    StablecoinReceipt,
    SubscriptionStatus,
)
from offerings.payments import PaymentError, payment_provider
from offerings.services.offerings import offering_publish
from offerings.services.payments import refund_request, refund_send, refunds_pending_settle
from offerings.services.stablecoin import stablecoin_receipts_match
from offerings.tests.support import offering_draft, subscribed
from tokens.services import portal_registry_ensure
from tokens.tests.support import (
    WALLETS,
    chain_indexed,
    contract_send,
    contract_view,
    drain,
    stablecoin_deploy,
    stablecoin_faucet,
    stablecoin_receiving_address,
    transaction_send,
)

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


def _pay(rpc_url: str, coin: str, sender: str, units: int) -> None:
    contract_send(rpc_url, sender, coin, "TestStablecoin", "transfer", stablecoin_receiving_address(), units)


def _coin_balance(rpc_url: str, coin: str, wallet: str) -> int:
    return int(contract_view(rpc_url, "TestStablecoin", coin, "balanceOf", wallet))


def _read(rpc_url: str) -> None:
    drain()
    chain_indexed(rpc_url)
    stablecoin_receipts_match()


@pytest.fixture
def paying(cast, chain_settings):
    portal_registry_ensure()
    coin = stablecoin_deploy()
    drain()
    coin.refresh_from_db()
    investor = verified_investor(accreditation="verified", wallet=WALLETS[0], register=False)
    investor_registry_refresh(investor=investor, actor=None)
    stablecoin_faucet(wallet=WALLETS[0], amount=50_000 * 10**6, idempotency_key="faucet")
    drain()
    offering = offering_draft(cast.issuer, cast.admin)
    offering = offering_publish(offering=offering, actor=cast.admin)
    drain()
    subscription = subscribed(offering, investor, 2_500_00)
    return chain_settings.rpc_url, coin.address, subscription


def test_a_transfer_from_the_investors_wallet_pays_the_subscription_once(paying, chain_settings) -> None:
    rpc_url, coin, subscription = paying
    payment = payment_provider("stablecoin").start(subscription, return_url="/")
    assert payment.details["amount_units"] == str(2_500_00 * 10**4) and payment.details["from_wallets"] == [WALLETS[0]]
    _pay(rpc_url, coin, WALLETS[0], 2_500_00 * 10**4)
    _read(chain_settings.rpc_url)
    _read(chain_settings.rpc_url)  # read again: nothing is credited twice
    subscription.refresh_from_db()
    payment.refresh_from_db()
    assert subscription.status == SubscriptionStatus.PAID and subscription.paid_minor == 2_500_00
    assert payment.status == PaymentStatus.SUCCEEDED and payment.details["paid_from"] == WALLETS[0]
    assert PaymentEntry.objects.filter(payment=payment).count() == 1
    assert StablecoinReceipt.objects.get().match == StablecoinMatch.MATCHED

    # The subscription is cancelled: the money goes back to the wallet that paid, on-chain.
    before = _coin_balance(rpc_url, coin, WALLETS[0])
    refund = refund_request(payment=payment, reason="Cancelled by the investor")
    assert refund is not None
    refund = refund_send(refund_id=refund.pk)
    # Queued on the chain, not booked: the money has not left yet.
    assert refund.status == RefundStatus.PENDING
    assert refunds_pending_settle() == 0
    assert sum(PaymentEntry.objects.filter(payment=payment).values_list("amount_minor", flat=True)) == 2_500_00
    drain()
    assert _coin_balance(rpc_url, coin, WALLETS[0]) == before + 2_500_00 * 10**4
    assert refunds_pending_settle() == 1  # booked once the transfer is confirmed
    assert refunds_pending_settle() == 0
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SENT
    assert sum(PaymentEntry.objects.filter(payment=payment).values_list("amount_minor", flat=True)) == 0


def test_a_wrong_amount_or_a_stranger_is_flagged_not_guessed(paying, chain_settings) -> None:
    rpc_url, coin, subscription = paying
    payment_provider("stablecoin").start(subscription, return_url="/")
    _pay(rpc_url, coin, WALLETS[0], 1_000_00 * 10**4)  # less than asked
    transaction_send(rpc_url, WALLETS[4], WALLETS[4])
    stablecoin_faucet(wallet=WALLETS[4], amount=10**6, idempotency_key="stranger")
    drain()
    _pay(rpc_url, coin, WALLETS[4], 10**6)  # from a wallet nobody linked
    _read(chain_settings.rpc_url)
    subscription.refresh_from_db()
    assert subscription.paid_minor == 0 and subscription.status == SubscriptionStatus.SIGNED
    flagged = dict(StablecoinReceipt.objects.values_list("sender", "match"))
    assert flagged == {WALLETS[0]: StablecoinMatch.AMOUNT_MISMATCH, WALLETS[4]: StablecoinMatch.UNKNOWN_SENDER}


def test_paying_needs_a_linked_wallet(paying) -> None:
    _, _, subscription = paying
    subscription.investor.wallets.update(removed_at="2026-01-01T00:00:00Z")
    with pytest.raises(PaymentError, match="Link a wallet first"):
        payment_provider("stablecoin").start(subscription, return_url="/")


def test_staff_see_flagged_receipts(paying, chain_settings, cast, client) -> None:
    rpc_url, coin, _ = paying
    _pay(rpc_url, coin, WALLETS[0], 123)  # not whole cents, and nothing was started
    _read(chain_settings.rpc_url)
    client.force_login(cast.staff)
    page = client.get("/staff/stablecoin/")
    assert page.status_code == 200
    assert b"not whole cents" in page.content and b"no open stablecoin payment" in page.content


def test_staff_send_an_unmatched_transfer_back_once(paying, chain_settings, cast, client) -> None:
    rpc_url, coin, _ = paying
    before = _coin_balance(rpc_url, coin, WALLETS[0])
    _pay(rpc_url, coin, WALLETS[0], 7_000_000)  # 7.00 with no payment started
    _read(chain_settings.rpc_url)
    receipt = StablecoinReceipt.objects.get()
    assert receipt.match == StablecoinMatch.NO_OPEN_PAYMENT
    client.force_login(cast.staff)
    response = client.post(f"/staff/stablecoin/{receipt.pk}/return/", follow=True)
    assert b"is being sent back" in response.content
    again = client.post(f"/staff/stablecoin/{receipt.pk}/return/", follow=True)
    assert b"already sent back" in again.content
    drain()
    assert _coin_balance(rpc_url, coin, WALLETS[0]) == before
    receipt.refresh_from_db()
    assert receipt.match == StablecoinMatch.RETURNED and receipt.returned_by == cast.staff
