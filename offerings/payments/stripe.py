"""Stripe Checkout for card and ACH, with signed webhooks. The only module that imports stripe.

Webhook events are processed once each (their id is stored under a unique constraint) and in any
order: every money movement is keyed by Stripe's own id (payment intent, refund, dispute), so a
refund that arrives before the payment, or the same event twice, leaves the same ledger.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse

from offerings.payments.base import PaymentError, PaymentProvider, RefundResult

if TYPE_CHECKING:
    from offerings.models import Offering, Payment, Subscription

log = logging.getLogger(__name__)


def _client() -> stripe.StripeClient:
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": settings.STRIPE_API_BASE},
        max_network_retries=2,
    )


def _get(obj: Any, key: str, default: Any = None) -> Any:
    try:
        value = obj[key]
    except (KeyError, TypeError, AttributeError):
        return default
    return default if value is None else value


def _when(obj: Any) -> dt.datetime | None:
    created = _get(obj, "created")
    return dt.datetime.fromtimestamp(int(created), tz=dt.UTC) if created else None


class StripeCheckoutProvider(PaymentProvider):
    identifier = "stripe"
    verbose_name = "Card or US bank account (Stripe)"
    description = "Pay by card or ACH debit on Stripe's secure checkout page."
    instructions_template = "offerings/payments/stripe_instructions.html"

    def is_enabled(self) -> bool:
        return bool(settings.STRIPE_SECRET_KEY and settings.STRIPE_WEBHOOK_SECRET)

    def supports(self, offering: Offering) -> bool:
        return self.is_enabled() and offering.currency in {"USD", "EUR", "GBP", "CHF", "JPY"}

    def start(self, subscription: Subscription, *, return_url: str) -> Payment:
        from offerings.models import Payment, PaymentStatus

        amount = subscription.amount_minor - subscription.paid_minor
        if amount <= 0:
            raise PaymentError("Nothing is left to pay on this subscription.", code="nothing_due")
        payment = Payment.objects.create(
            subscription=subscription,
            provider=self.identifier,
            amount_minor=amount,
            currency=subscription.currency,
            status=PaymentStatus.STARTED,
        )
        metadata = {"subscription": str(subscription.public_id), "payment": str(payment.pk)}
        offering = subscription.offering
        methods = list(settings.STRIPE_PAYMENT_METHOD_TYPES)
        if subscription.currency != "USD":
            methods = [m for m in methods if m != "us_bank_account"] or ["card"]
        try:
            session = _client().v1.checkout.sessions.create(
                params={  # type: ignore[arg-type]
                    "mode": "payment",
                    "client_reference_id": str(subscription.public_id),
                    "customer_email": subscription.investor.user.email,
                    "payment_method_types": methods,
                    "line_items": [
                        {
                            "quantity": 1,
                            "price_data": {
                                "currency": subscription.currency.lower(),
                                "unit_amount": amount,
                                "product_data": {
                                    "name": f"{offering.title}: {subscription.quantity:,} {offering.token_symbol}"
                                },
                            },
                        }
                    ],
                    "metadata": metadata,
                    "payment_intent_data": {"metadata": metadata},
                    "success_url": return_url + "?checkout=success",
                    "cancel_url": return_url + "?checkout=cancelled",
                },
                options={"idempotency_key": f"tessera-checkout-{payment.pk}"},
            )
        except stripe.StripeError as exc:
            Payment.objects.filter(pk=payment.pk).update(status=PaymentStatus.FAILED, failure_reason=str(exc)[:500])
            raise PaymentError(
                "Stripe could not start the checkout. Try again, or pay by wire.", code="stripe_unavailable"
            ) from exc
        payment.external_id = session.id
        payment.redirect_url = session.url or ""
        payment.details = {"checkout_session": session.id}
        payment.save(update_fields=["external_id", "redirect_url", "details", "updated_at"])
        return payment

    def refund(self, payment: Payment, *, amount_minor: int, idempotency_key: str) -> RefundResult:
        intent = payment.details.get("payment_intent")
        if not intent:
            raise PaymentError("Stripe never reported a payment for this checkout; nothing to refund.")
        try:
            refund = _client().v1.refunds.create(
                params={"payment_intent": intent, "amount": amount_minor, "metadata": {"payment": str(payment.pk)}},
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise PaymentError(f"Stripe refused the refund: {exc.user_message or exc}") from exc
        if refund.status in ("failed", "canceled"):
            raise PaymentError(f"Stripe reports the refund {refund.status}.")
        return RefundResult(sent=True, external_ref=refund.id)

    # ------------------------------------------------------------------ webhooks

    def webhook(self, request: HttpRequest) -> HttpResponse:
        if not self.is_enabled():
            return JsonResponse({"error": "Stripe is not configured."}, status=404)
        signature = request.headers.get("Stripe-Signature", "")
        try:
            event = stripe.Webhook.construct_event(
                request.body.decode("utf-8"),
                signature,
                settings.STRIPE_WEBHOOK_SECRET,
                tolerance=settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
            )
        except stripe.SignatureVerificationError:
            return JsonResponse({"error": "The Stripe signature does not verify."}, status=400)
        except ValueError:
            return JsonResponse({"error": "The payload is not a Stripe event."}, status=400)
        outcome = self.event_process(event)
        return JsonResponse({"received": True, "outcome": outcome})

    def event_process(self, event: Any) -> str:
        from offerings.models import WebhookEvent

        try:
            with transaction.atomic():
                record = WebhookEvent.objects.create(
                    provider=self.identifier, event_id=event.id, event_type=event.type, created=_when(event)
                )
                outcome = self._dispatch(event)
                record.outcome = outcome[:200]
                record.save(update_fields=["outcome"])
        except IntegrityError:
            return "duplicate: already processed"
        return outcome

    def _payment(self, obj: Any) -> Payment | None:
        from offerings.models import Payment

        metadata = _get(obj, "metadata", {}) or {}
        payment_pk = _get(metadata, "payment")
        if payment_pk and str(payment_pk).isdigit():
            found = Payment.objects.filter(pk=int(payment_pk), provider=self.identifier).first()
            if found is not None:
                return found
        intent = _get(obj, "payment_intent")
        if intent:
            return Payment.objects.filter(provider=self.identifier, details__payment_intent=intent).first()
        return None

    def _remember_intent(self, payment: Payment, intent: str | None) -> None:
        if intent and payment.details.get("payment_intent") != intent:
            payment.details = {**payment.details, "payment_intent": intent}
            type(payment).objects.filter(pk=payment.pk).update(details=payment.details)

    def _dispatch(self, event: Any) -> str:
        handler = _EVENT_HANDLERS.get(event.type)
        if handler is None:
            return f"ignored: {event.type}"
        return handler(self, event)

    def _session_paid(self, event: Any) -> str:
        from offerings.models import PaymentStatus
        from offerings.services import payments as ledger

        obj = event.data.object
        payment = self._session_payment(obj)
        if payment is None:
            return "ignored: unknown checkout session"
        intent = _get(obj, "payment_intent")
        self._remember_intent(payment, intent)
        if _get(obj, "payment_status") != "paid":
            ledger.payment_status_set(payment=payment, status=PaymentStatus.PROCESSING)
            return "processing: bank debit pending"
        ledger.payment_received(
            payment=payment,
            amount_minor=int(_get(obj, "amount_total", 0)),
            currency=str(_get(obj, "currency", "")),
            external_ref=str(intent or obj.id),
            occurred_at=_when(event),
        )
        return "paid"

    def _session_debit_failed(self, event: Any) -> str:
        from offerings.models import PaymentStatus
        from offerings.services import payments as ledger

        payment = self._session_payment(event.data.object)
        if payment is None:
            return "ignored: unknown checkout session"
        ledger.payment_status_set(payment=payment, status=PaymentStatus.FAILED, reason="The bank debit failed.")
        return "failed"

    def _session_expired(self, event: Any) -> str:
        from offerings.models import PaymentStatus
        from offerings.services import payments as ledger

        payment = self._session_payment(event.data.object)
        if payment is None:
            return "ignored: unknown checkout session"
        ledger.payment_status_set(payment=payment, status=PaymentStatus.EXPIRED, reason="Checkout expired.")
        return "expired"

    def _intent_failed(self, event: Any) -> str:
        from offerings.models import PaymentStatus
        from offerings.services import payments as ledger

        obj = event.data.object
        payment = self._payment(obj)
        if payment is None:
            return "ignored: unknown payment"
        error = _get(obj, "last_payment_error", {}) or {}
        ledger.payment_status_set(
            payment=payment, status=PaymentStatus.FAILED, reason=str(_get(error, "message", "Payment failed."))
        )
        return "failed"

    def _dispute_created(self, event: Any) -> str:
        from offerings.services import payments as ledger

        obj = event.data.object
        payment = self._payment(obj)
        if payment is None:
            return "ignored: unknown payment"
        ledger.dispute_recorded(
            payment=payment,
            amount_minor=int(_get(obj, "amount", 0)),
            currency=str(_get(obj, "currency", "")),
            external_ref=obj.id,
        )
        return "disputed"

    def _dispute_closed(self, event: Any) -> str:
        from offerings.services import payments as ledger

        obj = event.data.object
        payment = self._payment(obj)
        if payment is None:
            return "ignored: unknown payment"
        if _get(obj, "status") != "won":
            return "dispute closed"
        ledger.dispute_recorded(
            payment=payment,
            amount_minor=int(_get(obj, "amount", 0)),
            currency=str(_get(obj, "currency", "")),
            external_ref=obj.id,
            won=True,
        )
        return "dispute won"

    def _session_payment(self, session: Any) -> Payment | None:
        from offerings.models import Payment

        found = Payment.objects.filter(provider=self.identifier, external_id=session.id).first()
        return found or self._payment(session)

    def _refunds(self, event: Any) -> str:
        from offerings.services import payments as ledger

        obj, kind = event.data.object, event.type
        # charge.refunded carries the charge with its refunds; refund.* carries one refund.
        refunds = list(_get(_get(obj, "refunds", {}), "data", []) or []) if kind == "charge.refunded" else [obj]
        payment = self._payment(obj)
        if payment is None:
            return "ignored: unknown payment"
        recorded = 0
        for refund in refunds:
            if _get(refund, "status") not in ("succeeded", "pending"):
                continue
            ledger.refund_recorded(
                payment=payment,
                amount_minor=int(_get(refund, "amount", 0)),
                currency=str(_get(refund, "currency", "")),
                external_ref=str(_get(refund, "id")),
                occurred_at=_when(refund),
                note="Reported by Stripe",
            )
            recorded += 1
        return f"refunds recorded: {recorded}"


# Stripe event type → handler; any other event is acknowledged and ignored.
_EVENT_HANDLERS: dict[str, Callable[[StripeCheckoutProvider, Any], str]] = {
    "checkout.session.completed": StripeCheckoutProvider._session_paid,
    "checkout.session.async_payment_succeeded": StripeCheckoutProvider._session_paid,
    "checkout.session.async_payment_failed": StripeCheckoutProvider._session_debit_failed,
    "checkout.session.expired": StripeCheckoutProvider._session_expired,
    "payment_intent.payment_failed": StripeCheckoutProvider._intent_failed,
    "charge.refunded": StripeCheckoutProvider._refunds,
    "charge.refund.updated": StripeCheckoutProvider._refunds,
    "refund.created": StripeCheckoutProvider._refunds,
    "refund.updated": StripeCheckoutProvider._refunds,
    "charge.dispute.created": StripeCheckoutProvider._dispute_created,
    "charge.dispute.closed": StripeCheckoutProvider._dispute_closed,
}
