"""Reads about money: payments, wires received, refunds owed and stablecoin transfers."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from core.models import Issuer
from offerings.models import (
    Offering,
    Payment,
    Refund,
    RefundStatus,
    StablecoinMatch,
    StablecoinReceipt,
    Subscription,
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
        Refund.objects.filter(subscription__offering__issuer=issuer, external_ref="manual")
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
    rows = StablecoinReceipt.objects.select_related("payment__subscription__offering").order_by("-chain_event_id")
    return rows.exclude(match__in=[StablecoinMatch.MATCHED, StablecoinMatch.RETURNED]) if flagged_only else rows
