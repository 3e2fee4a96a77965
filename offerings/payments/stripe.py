"""Stripe Checkout for card and ACH, with signed webhooks. The only module that imports stripe.

Webhook events are stored before they are applied (`offerings.services.webhooks`) and applied once
each, in any order: every money movement is keyed by Stripe's own id (payment intent, refund,
dispute), a refund or dispute that arrives before its payment waits for it, and an event the portal
cannot apply is kept flagged for review. Shapes follow Stripe's current API: a `charge.refunded`
charge carries `amount_refunded` but no refunds list, so refunds are read from the `refund.*`
events (or listed from the API when the charge says more was refunded than is booked).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import stripe
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from offerings.payments.base import PaymentError, PaymentProvider, RefundResult, RefundState, payment_change_audit

if TYPE_CHECKING:
    from offerings.models import Offering, Payment, Refund, Subscription
    from offerings.services.webhooks import EventOutcome

log = logging.getLogger(__name__)

# A session this close to Stripe's expiry is not handed out again: the investor needs time to pay.
SESSION_REUSE_MARGIN = dt.timedelta(minutes=30)


def _client() -> stripe.StripeClient:
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": settings.STRIPE_API_BASE},
        max_network_retries=2,
    )


def _get(obj: Any, key: str, default: Any = None) -> Any:
    try:
        value = obj[key]
    except (KeyError, TypeError, AttributeError, IndexError):
        return default
    return default if value is None else value


def _when(obj: Any) -> dt.datetime | None:
    created = _get(obj, "created")
    try:
        return dt.datetime.fromtimestamp(int(created), tz=dt.UTC) if created else None
    except (TypeError, ValueError, OverflowError):
        return None


def _int(obj: Any, key: str) -> int:
    value = _get(obj, key, 0)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"Stripe's {key} is not a whole number: {value!r}")
    return value


def malformed(payload: Any) -> str | None:
    """Why a verified payload is not a Stripe event we can read, or None when it is one."""
    if not isinstance(payload, dict):
        return "The payload is not a Stripe event object."
    if not isinstance(payload.get("id"), str) or not payload["id"]:
        return "The event has no id."
    if not isinstance(payload.get("type"), str) or not payload["type"]:
        return "The event has no type."
    data = payload.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        return "The event has no data object."
    if not isinstance(obj.get("id"), str) or not obj["id"]:
        return "The event's object has no id."
    return None


class StripeCheckoutProvider(PaymentProvider):
    identifier = "stripe"
    verbose_name = "Card or US bank account (Stripe)"
    description = "Pay by card or ACH debit on Stripe's secure checkout page."
    instructions_template = "offerings/payments/stripe_instructions.html"

    def is_enabled(self) -> bool:
        return bool(settings.STRIPE_SECRET_KEY and settings.STRIPE_WEBHOOK_SECRET)

    def supports(self, offering: Offering) -> bool:
        return self.is_enabled() and offering.currency in {"USD", "EUR", "GBP", "CHF", "JPY"}

    # ------------------------------------------------------------------ checkout

    def start(self, subscription: Subscription, *, return_url: str) -> Payment:
        """Hand out the subscription's one open Checkout Session, or expire it and open a new one.

        A subscription never has two sessions open at once, so a second checkout cannot be paid.
        """
        from offerings.models import Payment, PaymentStatus, Subscription

        def open_sessions() -> list[Payment]:
            return list(
                Payment.objects.filter(
                    subscription_id=subscription.pk, provider=self.identifier, status=PaymentStatus.STARTED
                ).order_by("pk")
            )

        # Expire, outside any lock (it is a call to Stripe), every open session that cannot be reused.
        due = subscription.amount_minor - subscription.paid_minor
        for stale in open_sessions():
            if not self._reusable(stale, due):
                self._expire(stale)
        with transaction.atomic():
            locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
            amount = locked.amount_minor - locked.paid_minor
            if amount <= 0:
                raise PaymentError("Nothing is left to pay on this subscription.", code="nothing_due")
            reusable = [p for p in open_sessions() if self._reusable(p, amount)]
            payment = reusable[-1] if reusable else None
            if payment is None:
                payment = Payment.objects.create(
                    subscription=locked,
                    provider=self.identifier,
                    amount_minor=amount,
                    currency=locked.currency,
                    status=PaymentStatus.STARTED,
                )
                payment_change_audit(payment, action="payment.started")
        if payment.external_id:
            return payment
        return self._session_create(subscription, payment, return_url=return_url)

    def _reusable(self, payment: Payment, amount: int) -> bool:
        if payment.amount_minor != amount:
            return False
        if not payment.external_id:
            return True  # being created by a concurrent request: the same idempotency key gives the same session
        expires = payment.details.get("expires_at")
        return bool(expires) and int(expires) > (timezone.now() + SESSION_REUSE_MARGIN).timestamp()

    def _expire(self, payment: Payment) -> None:
        """Expire a session at Stripe (`checkout.sessions.expire`) before another is opened."""
        from offerings.models import PaymentStatus
        from offerings.services import payments as ledger

        if payment.external_id:
            try:
                session = _client().v1.checkout.sessions.expire(payment.external_id)
            except stripe.InvalidRequestError:
                # Not open any more: it may have been paid a moment ago. Ask, never guess.
                try:
                    session = _client().v1.checkout.sessions.retrieve(payment.external_id)
                except stripe.StripeError as exc:
                    raise PaymentError(
                        "Stripe could not close your previous checkout. Try again in a minute.",
                        code="stripe_unavailable",
                    ) from exc
            except stripe.StripeError as exc:
                raise PaymentError(
                    "Stripe could not close your previous checkout. Try again in a minute.", code="stripe_unavailable"
                ) from exc
            if _get(session, "status") == "complete":
                ledger.payment_status_set(payment=payment, status=PaymentStatus.PROCESSING)
                raise PaymentError(
                    "Your previous checkout was completed and is being confirmed; it will show here shortly.",
                    code="checkout_completed",
                )
        ledger.payment_status_set(
            payment=payment, status=PaymentStatus.EXPIRED, reason="Replaced by a new checkout for the amount due."
        )

    def _session_create(self, subscription: Subscription, payment: Payment, *, return_url: str) -> Payment:
        from offerings.models import Payment, PaymentStatus

        amount = payment.amount_minor
        # Stripe is called outside any transaction; each write around the call carries its audit event.
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
            with transaction.atomic():
                Payment.objects.filter(pk=payment.pk).update(status=PaymentStatus.FAILED, failure_reason=str(exc)[:500])
                payment_change_audit(payment, action="payment.start_failed", after={"reason": str(exc)[:200]})
            raise PaymentError(
                "Stripe could not start the checkout. Try again, or pay by wire.", code="stripe_unavailable"
            ) from exc
        payment.external_id = session.id
        payment.redirect_url = session.url or ""
        payment.details = {"checkout_session": session.id, "expires_at": _get(session, "expires_at")}
        with transaction.atomic():
            payment.save(update_fields=["external_id", "redirect_url", "details", "updated_at"])
            payment_change_audit(payment, action="payment.checkout_opened", after={"external_id": session.id})
        return payment

    # ------------------------------------------------------------------ refunds

    def refund(
        self, payment: Payment, *, amount_minor: int, idempotency_key: str, refund: Refund | None = None
    ) -> RefundResult:
        intent = payment.details.get("payment_intent")
        if not intent:
            raise PaymentError("Stripe never reported a payment for this checkout; nothing to refund.")
        metadata = {"payment": str(payment.pk)}
        if refund is not None:
            metadata["refund"] = str(refund.pk)
        try:
            created = _client().v1.refunds.create(
                params={"payment_intent": intent, "amount": amount_minor, "metadata": metadata},
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise PaymentError(f"Stripe refused the refund: {exc.user_message or exc}") from exc
        status = _get(created, "status", "")
        if status in ("failed", "canceled"):
            reason = _get(created, "failure_reason", "") or status
            return RefundResult(sent=True, external_ref=created.id, failed=True, failure_reason=f"Stripe: {reason}")
        # pending and requires_action are booked when Stripe reports them succeeded.
        return RefundResult(sent=True, external_ref=created.id, settled=status == "succeeded")

    def refund_state(self, refund: Refund) -> RefundState:
        if not refund.external_ref.startswith("re_"):
            return RefundState(status="pending")
        try:
            found = _client().v1.refunds.retrieve(refund.external_ref)
        except stripe.StripeError as exc:
            raise PaymentError(f"Stripe could not say how the refund stands: {exc.user_message or exc}") from exc
        status = _get(found, "status", "")
        if status == "succeeded":
            return RefundState(status="succeeded", amount_minor=int(_get(found, "amount", 0)) or None)
        if status in ("failed", "canceled"):
            return RefundState(status="failed", reason=f"Stripe: {_get(found, 'failure_reason', '') or status}")
        return RefundState(status="pending")

    # ------------------------------------------------------------------ webhooks

    def webhook(self, request: HttpRequest) -> HttpResponse:
        from offerings.services.webhooks import webhook_event_apply, webhook_event_store

        if not self.is_enabled():
            return JsonResponse({"error": "Stripe is not configured."}, status=404)
        try:
            body = request.body.decode("utf-8")
            stripe.WebhookSignature.verify_header(
                body,
                request.headers.get("Stripe-Signature", ""),
                settings.STRIPE_WEBHOOK_SECRET,
                tolerance=settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
            )
        except (stripe.SignatureVerificationError, UnicodeDecodeError):
            return JsonResponse({"error": "The Stripe signature does not verify."}, status=400)
        try:
            payload = json.loads(body)
        except ValueError:
            return JsonResponse({"error": "The payload is not a Stripe event."}, status=400)
        problem = malformed(payload)
        if problem:
            return JsonResponse({"error": problem}, status=400)
        # Stored first, answered 2xx only once stored (a database failure here answers 5xx: Stripe retries).
        record, _ = webhook_event_store(
            provider=self.identifier,
            event_id=payload["id"],
            event_type=payload["type"],
            created=_when(payload),
            payload=payload,
        )
        outcome = webhook_event_apply(event=record, handler=self.event_handle)
        return JsonResponse({"received": True, "outcome": outcome.text, "state": outcome.state})

    def event_handle(self, event: dict[str, Any]) -> EventOutcome:
        """Apply one stored event through the handler for its type."""
        from offerings.services.webhooks import ignored

        kind = event["type"]
        handler = _EVENT_HANDLERS.get(kind)
        if handler is None:
            return ignored(kind)
        return handler(self, event["data"]["object"], event)

    # ---- lookups

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

    def _session_payment(self, session: Any) -> Payment | None:
        from offerings.models import Payment

        found = Payment.objects.filter(provider=self.identifier, external_id=_get(session, "id")).first()
        return found or self._payment(session)

    def _remember_intent(self, payment: Payment, intent: str | None) -> None:
        if intent and payment.details.get("payment_intent") != intent:
            payment.details = {**payment.details, "payment_intent": intent}
            type(payment).objects.filter(pk=payment.pk).update(details=payment.details)

    def _paid_payment(self, obj: Any) -> tuple[Payment | None, EventOutcome | None]:
        """The payment a refund or dispute is about, once the portal knows it was paid; else why to wait."""
        from offerings.models import EntryKind
        from offerings.services.webhooks import flagged, waiting

        payment = self._payment(obj)
        intent = _get(obj, "payment_intent", "")
        if payment is None:
            if not intent:
                return None, flagged("The event names no payment intent the portal can match.")
            return None, waiting(str(intent), f"no payment known for {intent} yet")
        if not payment.entries.filter(kind=EntryKind.RECEIVED).exists():
            key = str(intent or payment.details.get("payment_intent") or f"payment:{payment.pk}")
            return None, waiting(key, f"payment {payment.pk} not reported paid yet")
        return payment, None

    # ---- checkout sessions

    def _session_paid(self, session: Any, event: dict[str, Any]) -> EventOutcome:
        from offerings.models import PaymentStatus
        from offerings.services import payments as ledger
        from offerings.services.webhooks import applied, flagged, ignored

        payment = self._session_payment(session)
        if payment is None:
            return ignored("unknown checkout session")
        issuer = payment.subscription.offering.issuer
        intent = _get(session, "payment_intent")
        self._remember_intent(payment, intent)
        if _get(session, "payment_status") != "paid":
            ledger.payment_status_set(payment=payment, status=PaymentStatus.PROCESSING)
            return applied("processing: bank debit pending", issuer=issuer)
        amount, currency = _int(session, "amount_total"), str(_get(session, "currency", ""))
        ledger.payment_received(
            payment=payment,
            amount_minor=amount,
            currency=currency,
            external_ref=str(intent or _get(session, "id")),
            occurred_at=_when(event),
        )
        releases = (str(intent or ""), f"payment:{payment.pk}")
        subscription = payment.subscription
        subscription.refresh_from_db()
        expected = ledger.money(payment.amount_minor, payment.currency)
        if amount != payment.amount_minor:
            difference = ledger.money(abs(amount - payment.amount_minor), payment.currency)
            more = amount > payment.amount_minor
            return flagged(
                f"Stripe took {ledger.money(amount, payment.currency)} for a checkout of {expected}: "
                f"{difference} {'more' if more else 'less'} than asked. "
                + (
                    "The excess is listed under overpayments."
                    if more
                    else "The subscription is not paid until the rest arrives."
                ),
                issuer=issuer,
                releases=releases,
            )
        if subscription.paid_minor > subscription.amount_minor:
            excess = ledger.money(subscription.paid_minor - subscription.amount_minor, subscription.currency)
            return flagged(
                f"This checkout paid a subscription that was already paid: {excess} more than the subscription. "
                "The excess is listed under overpayments.",
                issuer=issuer,
                releases=releases,
            )
        return applied("paid", issuer=issuer, releases=releases)

    def _session_debit_failed(self, session: Any, event: dict[str, Any]) -> EventOutcome:
        from offerings.models import PaymentStatus
        from offerings.services import payments as ledger
        from offerings.services.webhooks import applied, ignored

        payment = self._session_payment(session)
        if payment is None:
            return ignored("unknown checkout session")
        ledger.payment_status_set(payment=payment, status=PaymentStatus.FAILED, reason="The bank debit failed.")
        return applied("failed", issuer=payment.subscription.offering.issuer)

    def _session_expired(self, session: Any, event: dict[str, Any]) -> EventOutcome:
        from offerings.models import PaymentStatus
        from offerings.services import payments as ledger
        from offerings.services.webhooks import applied, ignored

        payment = self._session_payment(session)
        if payment is None:
            return ignored("unknown checkout session")
        ledger.payment_status_set(payment=payment, status=PaymentStatus.EXPIRED, reason="Checkout expired.")
        return applied("expired", issuer=payment.subscription.offering.issuer)

    def _intent_failed(self, intent: Any, event: dict[str, Any]) -> EventOutcome:
        from offerings.models import PaymentStatus
        from offerings.services import payments as ledger
        from offerings.services.webhooks import applied, ignored

        payment = self._payment(intent)
        if payment is None:
            return ignored("unknown payment")
        error = _get(intent, "last_payment_error", {}) or {}
        ledger.payment_status_set(
            payment=payment, status=PaymentStatus.FAILED, reason=str(_get(error, "message", "Payment failed."))
        )
        return applied("failed", issuer=payment.subscription.offering.issuer)

    # ---- refunds

    def _refund_event(self, refund: Any, event: dict[str, Any]) -> EventOutcome:
        from offerings.services import payments as ledger
        from offerings.services.webhooks import applied

        payment, wait = self._paid_payment(refund)
        if payment is None:
            assert wait is not None
            return wait
        issuer = payment.subscription.offering.issuer
        status = _get(refund, "status", "")
        metadata = _get(refund, "metadata", {}) or {}
        ours = str(_get(metadata, "refund", ""))
        refund_id = int(ours) if ours.isdigit() else None
        amount = _int(refund, "amount")
        if event["type"] == "refund.failed" or status in ("failed", "canceled"):
            reason = _get(refund, "failure_reason", "") or status or "failed"
            ledger.refund_failed(
                payment=payment,
                amount_minor=amount,
                external_ref=str(refund["id"]),
                reason=f"Stripe reports the refund {status or 'failed'} ({reason}).",
                refund_id=refund_id,
            )
            return applied(f"refund {status or 'failed'}", issuer=issuer)
        if status != "succeeded":
            return applied(f"refund {status or 'pending'}: booked when it succeeds", issuer=issuer)
        ledger.refund_recorded(
            payment=payment,
            amount_minor=amount,
            currency=str(_get(refund, "currency", "")),
            external_ref=str(refund["id"]),
            occurred_at=_when(refund),
            note="Reported by Stripe",
            refund_id=refund_id,
        )
        return applied("refund booked", issuer=issuer)

    def _charge_refunded(self, charge: Any, event: dict[str, Any]) -> EventOutcome:
        """Since API version 2022-11-15 the charge no longer lists its refunds: compare `amount_refunded`
        with what is booked, and list the refunds from Stripe when the charge says more was refunded."""
        from offerings.models import EntryKind, PaymentEntry
        from offerings.services import payments as ledger
        from offerings.services.webhooks import applied, flagged

        payment, wait = self._paid_payment(charge)
        if payment is None:
            assert wait is not None
            return wait
        issuer = payment.subscription.offering.issuer

        def booked() -> int:
            rows = PaymentEntry.objects.filter(
                payment=payment, kind__in=[EntryKind.REFUND, EntryKind.REFUND_REVERSED]
            ).values_list("amount_minor", flat=True)
            return -sum(rows)

        refunded = _int(charge, "amount_refunded")
        embedded = _get(_get(charge, "refunds", {}), "data", None)
        if embedded is None and refunded > booked():
            try:
                listed = _client().v1.refunds.list(params={"charge": str(charge["id"]), "limit": 100})
            except stripe.StripeError as exc:
                return flagged(
                    f"Stripe reports {ledger.money(refunded, payment.currency)} refunded, and the refunds could "
                    f"not be listed ({exc.user_message or exc}); they are booked when their refund events arrive.",
                    issuer=issuer,
                )
            embedded = [r.to_dict() for r in listed.data]
        for refund in embedded or []:
            # An embedded or listed refund names its charge's payment when it does not say so itself.
            known = {"payment_intent": _get(charge, "payment_intent"), "metadata": _get(charge, "metadata", {})}
            self._refund_event({**known, **{k: v for k, v in dict(refund).items() if v}}, {"type": "refund.updated"})
        if refunded != booked():
            return flagged(
                f"Stripe reports {ledger.money(refunded, payment.currency)} refunded on this charge; the portal has "
                f"booked {ledger.money(booked(), payment.currency)}. Pending refunds are booked when they succeed.",
                issuer=issuer,
            )
        return applied(f"refunded: {ledger.money(refunded, payment.currency)} in all", issuer=issuer)

    # ---- disputes

    def _dispute_created(self, dispute: Any, event: dict[str, Any]) -> EventOutcome:
        from offerings.services import payments as ledger
        from offerings.services.webhooks import applied

        payment, wait = self._paid_payment(dispute)
        if payment is None:
            assert wait is not None
            return wait
        status = str(_get(dispute, "status", ""))
        if status.startswith("warning_"):
            # An inquiry: no money is withdrawn unless it becomes a chargeback (a new dispute event).
            return applied(f"inquiry {status}: no money withdrawn", issuer=payment.subscription.offering.issuer)
        ledger.dispute_recorded(
            payment=payment,
            amount_minor=_int(dispute, "amount"),
            currency=str(_get(dispute, "currency", "")),
            external_ref=str(dispute["id"]),
            provider_status=status,
        )
        return applied("disputed", issuer=payment.subscription.offering.issuer)

    def _dispute_updated(self, dispute: Any, event: dict[str, Any]) -> EventOutcome:
        from offerings.models import PaymentCase
        from offerings.services.cases import case_provider_status
        from offerings.services.webhooks import applied

        payment, wait = self._paid_payment(dispute)
        if payment is None:
            assert wait is not None
            return wait
        status = str(_get(dispute, "status", ""))
        for case in PaymentCase.objects.filter(subscription=payment.subscription, external_ref=str(dispute["id"])):
            case_provider_status(case=case, status=status)
        return applied(f"dispute {status}", issuer=payment.subscription.offering.issuer)

    def _dispute_closed(self, dispute: Any, event: dict[str, Any]) -> EventOutcome:
        from offerings.services import payments as ledger

        status = str(_get(dispute, "status", ""))
        if status == "won" or event["type"] == "charge.dispute.funds_reinstated":
            payment, wait = self._paid_payment(dispute)
            if payment is None:
                assert wait is not None
                return wait
            if not payment.entries.filter(external_ref=str(dispute["id"]), kind="dispute").exists():
                # The chargeback itself was never booked (an inquiry, or its event is still to come).
                return self._dispute_updated(dispute, event)
            ledger.dispute_recorded(
                payment=payment,
                amount_minor=_int(dispute, "amount"),
                currency=str(_get(dispute, "currency", "")),
                external_ref=str(dispute["id"]),
                won=True,
                provider_status=status or "won",
            )
            from offerings.services.webhooks import applied

            return applied("dispute won: money returned", issuer=payment.subscription.offering.issuer)
        return self._dispute_updated(dispute, event)


# Stripe event type → handler (given the event's object and the event); any other event is acknowledged and ignored.
_EVENT_HANDLERS: dict[str, Callable[[StripeCheckoutProvider, Any, dict[str, Any]], EventOutcome]] = {
    "checkout.session.completed": StripeCheckoutProvider._session_paid,
    "checkout.session.async_payment_succeeded": StripeCheckoutProvider._session_paid,
    "checkout.session.async_payment_failed": StripeCheckoutProvider._session_debit_failed,
    "checkout.session.expired": StripeCheckoutProvider._session_expired,
    "payment_intent.payment_failed": StripeCheckoutProvider._intent_failed,
    "charge.refunded": StripeCheckoutProvider._charge_refunded,
    "refund.created": StripeCheckoutProvider._refund_event,
    "refund.updated": StripeCheckoutProvider._refund_event,
    "refund.failed": StripeCheckoutProvider._refund_event,
    "charge.refund.updated": StripeCheckoutProvider._refund_event,
    "charge.dispute.created": StripeCheckoutProvider._dispute_created,
    "charge.dispute.updated": StripeCheckoutProvider._dispute_updated,
    "charge.dispute.closed": StripeCheckoutProvider._dispute_closed,
    "charge.dispute.funds_reinstated": StripeCheckoutProvider._dispute_closed,
}
