"""Stablecoin (a USD ERC-20 such as USDC): the investor sends it from a linked wallet to the portal's
receiving address; the indexer reads the transfer and `offerings.services.stablecoin` matches it by
sender and amount. Refunds go back to the wallet that paid, through the chain outbox."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from core.errors import ApplicationError
from core.money import Money
from offerings.payments.base import PaymentError, PaymentProvider, RefundResult, RefundState, payment_change_audit

if TYPE_CHECKING:
    from offerings.models import Offering, Payment, Refund, Subscription


class StablecoinProvider(PaymentProvider):
    identifier = "stablecoin"
    verbose_name = "Stablecoin (USD)"
    description = "Send USD stablecoins from a wallet you linked. Confirmed once the transfer is on-chain."
    instructions_template = "offerings/payments/stablecoin_instructions.html"

    def is_enabled(self) -> bool:
        from tokens.selectors import portal_stablecoin

        coin = portal_stablecoin()
        return coin is not None and bool(coin.address)

    def supports(self, offering: Offering) -> bool:
        return offering.currency == "USD" and self.is_enabled()

    @transaction.atomic
    def start(self, subscription: Subscription, *, return_url: str) -> Payment:
        from investors.models import Wallet
        from offerings.models import Payment, PaymentStatus
        from offerings.services.stablecoin import cents_to_units
        from tokens.selectors import portal_stablecoin, stablecoin_receiving_address

        amount = subscription.amount_minor - subscription.paid_minor
        if amount <= 0:
            raise PaymentError("Nothing is left to pay on this subscription.", code="nothing_due")
        wallets = list(
            Wallet.objects.filter(investor=subscription.investor, removed_at__isnull=True).values_list(
                "address", flat=True
            )
        )
        if not wallets:
            raise PaymentError(
                "Link a wallet first: the payment must come from a wallet that is yours.", code="no_wallet"
            )
        coin = portal_stablecoin()
        if coin is None or not coin.address:
            raise PaymentError("Stablecoin payments are not available right now.", code="unavailable")
        open_payment = Payment.objects.filter(
            subscription=subscription, provider=self.identifier, status=PaymentStatus.STARTED
        ).first()
        payment = open_payment or Payment(
            subscription=subscription,
            provider=self.identifier,
            currency=subscription.currency,
            status=PaymentStatus.STARTED,
        )
        payment.amount_minor = amount
        payment.details = {
            "token": coin.address,
            "token_name": coin.name,
            "receiving_address": stablecoin_receiving_address(),
            "amount_units": str(cents_to_units(amount)),
            "from_wallets": wallets,
        }
        with transaction.atomic():
            payment.save()
            payment_change_audit(payment, action="payment.started", after={"token": coin.address})
        return payment

    def refund(
        self, payment: Payment, *, amount_minor: int, idempotency_key: str, refund: Refund | None = None
    ) -> RefundResult:
        from offerings.services.stablecoin import cents_to_units
        from tokens.services import stablecoin_send

        wallet = payment.details.get("paid_from")
        if not wallet:
            raise PaymentError("No transfer was received for this payment, so there is nothing to send back.")
        try:
            tx = stablecoin_send(
                to_wallet=wallet,
                amount=cents_to_units(amount_minor),
                idempotency_key=idempotency_key,
                purpose=f"Refund {Money(amount_minor, 'USD')} to {wallet}",
            )
        except ApplicationError as exc:
            raise PaymentError(exc.message, code=exc.code) from exc
        # Booked when the transfer is confirmed on-chain (`refund_state`), not when it is queued.
        return RefundResult(sent=True, external_ref=f"chain-tx:{tx.idempotency_key}")

    def refund_state(self, refund: Refund) -> RefundState:
        from tokens.models import TxStatus
        from tokens.selectors import chain_transaction_by_key

        key = refund.external_ref.removeprefix("chain-tx:")
        tx = chain_transaction_by_key(idempotency_key=key) if key else None
        if tx is None:
            return RefundState(status="pending")
        if tx.status == TxStatus.CONFIRMED:
            return RefundState(status="succeeded")
        if tx.status == TxStatus.FAILED:
            return RefundState(status="failed", reason=f"The refund transfer failed on-chain: {tx.last_error}"[:500])
        return RefundState(status="pending")
