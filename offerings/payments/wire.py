"""Wire transfer: instructions with the subscription's unique reference; staff record what arrives."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction

from offerings.payments.base import PaymentProvider, RefundResult, payment_change_audit

if TYPE_CHECKING:
    from offerings.models import Offering, Payment, Refund, Subscription


class WireTransferProvider(PaymentProvider):
    identifier = "wire"
    verbose_name = "Bank wire"
    description = "Send a wire from your bank with your payment reference. Confirmed when the escrow bank receives it."
    instructions_template = "offerings/payments/wire_instructions.html"

    def supports(self, offering: Offering) -> bool:
        return True

    @transaction.atomic
    def start(self, subscription: Subscription, *, return_url: str) -> Payment:
        from offerings.models import Payment, PaymentStatus

        with transaction.atomic():
            payment, _ = Payment.objects.get_or_create(
                provider=self.identifier,
                external_id=subscription.wire_reference,
                defaults={
                    "subscription": subscription,
                    "amount_minor": subscription.amount_minor,
                    "currency": subscription.currency,
                    "status": PaymentStatus.STARTED,
                },
            )
            payment.details = {**settings.WIRE_BANK_DETAILS, "reference": subscription.wire_reference}
            outstanding = max(subscription.amount_minor - subscription.paid_minor, 0)
            payment.amount_minor = outstanding or subscription.amount_minor
            payment.save(update_fields=["details", "amount_minor", "updated_at"])
            payment_change_audit(payment, action="payment.started", after={"external_id": payment.external_id})
        return payment

    def refund(
        self, payment: Payment, *, amount_minor: int, idempotency_key: str, refund: Refund | None = None
    ) -> RefundResult:
        # The escrow bank sends the wire back on the issuer's instruction; a person records it as sent.
        return RefundResult(sent=False)
