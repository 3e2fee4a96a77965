"""Offering tasks: thin, they take ids and call one service each."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mass_mail
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from offerings.models import (
    OPEN_SUBSCRIPTION_STATUSES,
    Offering,
    OfferingDocument,
    OfferingStatus,
    Refund,
    RefundStatus,
    Subscription,
    SubscriptionStatus,
)
from tokens.services import CHAIN_TRANSIENT_ERRORS

log = logging.getLogger(__name__)
COMMON = {"acks_late": True, "time_limit": 600, "soft_time_limit": 540, "ignore_result": True}


@shared_task(name="offerings.tasks.closing_advance_task", autoretry_for=CHAIN_TRANSIENT_ERRORS, max_retries=5, **COMMON)
def closing_advance_task(offering_id: int) -> str:
    from offerings.services.closing import closing_advance

    return closing_advance(offering_id=offering_id)


@shared_task(name="offerings.tasks.closings_advance_task", max_retries=0, **COMMON)
def closings_advance_task() -> int:
    """Beat: carry on every closing (settles confirmed batches) and re-send refunds left requested."""
    from offerings.services.closing import closing_advance
    from offerings.services.payments import refund_send

    ids = list(Offering.objects.filter(status=OfferingStatus.CLOSING).values_list("pk", flat=True))
    for offering_id in ids:
        closing_advance(offering_id=offering_id)
    stale = timezone.now() - dt.timedelta(minutes=2)
    for refund_id in (
        Refund.objects.filter(status=RefundStatus.REQUESTED, requested_at__lt=stale)
        .exclude(external_ref="manual")
        .values_list("pk", flat=True)[:200]
    ):
        refund_send(refund_id=refund_id)
    return len(ids)


@shared_task(name="offerings.tasks.offerings_scheduled_task", max_retries=0, **COMMON)
def offerings_scheduled_task() -> int:
    """Beat: close offerings whose close date arrived; cancel Reg CF commitments not reconfirmed in time."""
    from core.errors import ApplicationError
    from offerings.services.closing import offering_close
    from offerings.services.subscriptions import subscription_end_system

    now = timezone.now()
    lapsed = Subscription.objects.filter(
        reconfirm_by__lt=now, status__in=OPEN_SUBSCRIPTION_STATUSES, offering__status=OfferingStatus.OPEN
    )
    for subscription in lapsed:
        # Reg CF 227.304(c): not reconfirmed within five business days of a material change.
        subscription_end_system(
            subscription=subscription,
            status=SubscriptionStatus.CANCELLED,
            reason="Not reconfirmed within five business days after a material change; your payment is refunded.",
        )
    closed = 0
    for offering in Offering.objects.filter(status=OfferingStatus.OPEN, closes_at__lte=now):
        try:
            offering_close(offering=offering, actor=None, scheduled=True)
            closed += 1
        except ApplicationError as exc:
            log.warning("scheduled close of offering %s refused: %s", offering.pk, exc.message)
    return closed


@shared_task(
    name="offerings.tasks.refund_send_task",
    autoretry_for=(ConnectionError, TimeoutError),
    retry_backoff=5,
    max_retries=5,
    **COMMON,
)
def refund_send_task(refund_id: int) -> str:
    from offerings.services.payments import refund_send

    return refund_send(refund_id=refund_id).status


def _site() -> str:
    return getattr(settings, "SITE_URL", "")


@shared_task(name="offerings.tasks.material_change_notify_task", max_retries=0, **COMMON)
def material_change_notify_task(document_id: int) -> int:
    document = OfferingDocument.objects.select_related("offering").get(pk=document_id)
    offering = document.offering
    rows = Subscription.objects.filter(offering=offering, status__in=OPEN_SUBSCRIPTION_STATUSES).select_related(
        "investor__user"
    )
    messages = []
    for s in rows:
        body = render_to_string(
            "offerings/email/material_change.txt",
            {
                "subscription": s,
                "offering": offering,
                "document": document,
                "url": _site() + reverse("subscription_status", args=[s.public_id]),
            },
        )
        messages.append((f"[Tessera] {offering.title}: {document.title} changed", body, None, [s.investor.user.email]))
    return send_mass_mail(messages, fail_silently=False)


@shared_task(name="offerings.tasks.closing_notify_task", max_retries=0, **COMMON)
def closing_notify_task(kind: str, offering_id: int, batch_id: int | None) -> int:
    offering = Offering.objects.get(pk=offering_id)
    if kind == "issued":
        rows = Subscription.objects.filter(mint_batch_id=batch_id, status=SubscriptionStatus.ISSUED)
        subject = f"[Tessera] Your {offering.token_symbol} tokens are issued"
    else:
        rows = Subscription.objects.filter(offering=offering, status=SubscriptionStatus.CANCELLED).filter(
            Q(paid_minor__gt=0) | Q(entries__isnull=False)
        )
        subject = f"[Tessera] {offering.title} did not reach its minimum: refund"
    messages = []
    for s in rows.select_related("investor__user", "mint_batch__chain_transaction").distinct():
        body = render_to_string(
            f"offerings/email/{kind}.txt",
            {"subscription": s, "offering": offering, "portfolio": _site() + reverse("portfolio")},
        )
        messages.append((subject, body, None, [s.investor.user.email]))
    return send_mass_mail(messages, fail_silently=False)


@shared_task(name="offerings.tasks.stablecoin_receipts_match_task", max_retries=0, **COMMON)
def stablecoin_receipts_match_task() -> int:
    """Beat: credit stablecoin transfers the indexer has read into the receiving address."""
    from offerings.services.stablecoin import stablecoin_receipts_match

    return stablecoin_receipts_match()
