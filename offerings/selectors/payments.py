"""Reads about money: payments, wires received, refunds owed and stablecoin transfers."""

from __future__ import annotations

from django.db.models import Case, F, IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce

from core.models import Issuer
from offerings.models import (
    HAND_REFUND_PROVIDERS,
    OPEN_CASE_STAGES,
    OPEN_REFUND_STATUSES,
    Offering,
    Payment,
    PaymentCase,
    Refund,
    RefundStatus,
    StablecoinMatch,
    StablecoinReceipt,
    Subscription,
    SubscriptionStatus,
    WebhookEvent,
    WebhookState,
    WireReceipt,
)


def latest_payment(*, subscription: Subscription) -> Payment | None:
    return subscription.payments.order_by("-created_at").first()


def wire_receipts_of(*, issuer: Issuer, flagged_only: bool = False) -> QuerySet[WireReceipt]:
    rows = WireReceipt.objects.filter(issuer=issuer).select_related("subscription__offering").order_by("-recorded_at")
    return rows.flagged() if flagged_only else rows


def wire_receipts_flagged_for(*, offering: Offering) -> QuerySet[WireReceipt]:
    """Flagged wires an offering's dashboard counts: its own, and the issuer's that matched no subscription."""
    return WireReceipt.objects.flagged().filter(
        Q(subscription__offering=offering) | Q(subscription__isnull=True, issuer_id=offering.issuer_id)
    )


def refunds_open(*, offering: Offering) -> QuerySet[Refund]:
    return (
        Refund.objects.filter(subscription__offering=offering)
        .exclude(status=RefundStatus.SENT)
        .select_related("subscription__investor")
        .order_by("requested_at")
    )


def refunds_to_send_by_hand(*, issuer: Issuer, limit: int = 100) -> list[Refund]:
    """Refunds the provider cannot send itself (a wire back): a person sends them and records it."""
    return list(
        Refund.objects.filter(
            subscription__offering__issuer=issuer, external_ref="manual", provider__in=HAND_REFUND_PROVIDERS
        )
        .exclude(status=RefundStatus.SENT)
        .select_related("subscription__investor", "subscription__offering")
        .order_by("requested_at")[:limit]
    )


def refunds_failed(*, issuer: Issuer, limit: int = 100) -> list[Refund]:
    """Refunds the provider refused; a person tries them again."""
    return list(
        Refund.objects.filter(subscription__offering__issuer=issuer, status=RefundStatus.FAILED)
        .select_related("subscription__investor", "subscription__offering")
        .order_by("requested_at")[:limit]
    )


def stablecoin_receipts(*, flagged_only: bool) -> QuerySet[StablecoinReceipt]:
    """Flagged: not matched nor returned, or dropped from the chain by a reorg past finality."""
    rows = StablecoinReceipt.objects.select_related("payment__subscription__offering").order_by("-pk")
    if not flagged_only:
        return rows
    return rows.filter(~Q(match__in=[StablecoinMatch.MATCHED, StablecoinMatch.RETURNED]) | Q(reorged_at__isnull=False))


def overpayments_of(*, issuer: Issuer) -> QuerySet[Subscription]:
    """Subscriptions holding money beyond what they need (paid more, paid twice, paid after they ended),
    less refunds already on their way; `excess_minor` is what a refund of the excess sends back."""
    in_flight = Coalesce(Sum("refunds__amount_minor", filter=Q(refunds__status__in=OPEN_REFUND_STATUSES)), Value(0))
    needed = Case(
        When(status__in=[SubscriptionStatus.CANCELLED, SubscriptionStatus.REJECTED], then=Value(0)),
        default=F("amount_minor"),
        output_field=IntegerField(),
    )
    return (
        Subscription.objects.filter(offering__issuer=issuer, paid_minor__gt=0)
        .annotate(excess_minor=F("paid_minor") - needed - in_flight)
        .filter(excess_minor__gt=0)
        .select_related("offering", "investor")
        .order_by("updated_at", "pk")
    )


def cases_of(*, issuer: Issuer, open_only: bool = True) -> QuerySet[PaymentCase]:
    rows = PaymentCase.objects.filter(subscription__offering__issuer=issuer)
    if open_only:
        rows = rows.filter(stage__in=OPEN_CASE_STAGES)
    return rows.select_related(
        "subscription__offering", "subscription__investor", "freeze_transaction", "resolution_transaction"
    ).order_by("opened_at", "pk")


def webhook_events_flagged(*, issuer: Issuer) -> QuerySet[WebhookEvent]:
    """Provider events about this issuer's payments that could not be applied and wait for a person."""
    return WebhookEvent.objects.filter(issuer=issuer, state=WebhookState.FLAGGED, resolved_at__isnull=True).order_by(
        "received_at", "pk"
    )


def money_to_act_on(*, issuer: Issuer) -> dict[str, int]:
    """How many cases, overpayments, flagged events and failed refunds wait for the issuer."""
    return {
        "cases": cases_of(issuer=issuer).count(),
        "overpayments": overpayments_of(issuer=issuer).count(),
        "events": webhook_events_flagged(issuer=issuer).count(),
        "failed_refunds": Refund.objects.filter(
            subscription__offering__issuer=issuer, status=RefundStatus.FAILED
        ).count(),
    }
