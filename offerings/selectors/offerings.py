"""Reads about offerings: the public list, documents, progress toward the caps, minting and the issuer's dashboard."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Least, TruncDate
from django.utils import timezone

from core.models import Issuer
from offerings.models import (
    COMMITTED_STATUSES,
    MintBatch,
    Offering,
    OfferingDocument,
    OfferingStatus,
    Refund,
    RefundStatus,
    Subscription,
    SubscriptionStatus,
)
from offerings.selectors.payments import wire_receipts_flagged_for
from tokens.models import TxStatus
from tokens.selectors import TokenSetup, refusal_reason, token_deployment, token_setup


def offerings_public() -> QuerySet[Offering]:
    return (
        Offering.objects.exclude(status=OfferingStatus.DRAFT)
        .select_related("issuer")
        .annotate(
            paid_total=Sum(
                "subscriptions__paid_minor",
                filter=Q(subscriptions__status__in=[*COMMITTED_STATUSES]),
            ),
            investor_count=Count(
                "subscriptions__investor", filter=Q(subscriptions__status__in=COMMITTED_STATUSES), distinct=True
            ),
        )
        .order_by("-published_at", "-pk")
    )


def offerings_of(*, issuer: Issuer) -> QuerySet[Offering]:
    return Offering.objects.filter(issuer=issuer).order_by("-created_at")


def offering_visible(*, public_id: Any) -> Offering | None:
    return Offering.objects.select_related("issuer").filter(public_id=public_id).first()


def current_documents(*, offering: Offering) -> list[OfferingDocument]:
    """The newest version of each document (kind and title)."""
    latest: dict[tuple[str, str], OfferingDocument] = {}
    for doc in offering.documents.order_by("kind", "title", "-version"):
        latest.setdefault((doc.kind, doc.title), doc)
    return list(latest.values())


def document_history(*, offering: Offering) -> list[OfferingDocument]:
    return list(offering.documents.select_related("uploaded_by").order_by("kind", "title", "-version"))


# --------------------------------------------------------------------------- progress and dashboard


@dataclass
class Progress:
    committed_minor: int
    paid_minor: int
    investors: int
    soft_cap_minor: int
    hard_cap_minor: int

    @property
    def percent_of_hard_cap(self) -> int:
        return min(100, self.committed_minor * 100 // self.hard_cap_minor) if self.hard_cap_minor else 0

    @property
    def paid_percent_of_hard_cap(self) -> int:
        return min(100, self.paid_minor * 100 // self.hard_cap_minor) if self.hard_cap_minor else 0

    @property
    def soft_cap_percent(self) -> int:
        return min(100, self.soft_cap_minor * 100 // self.hard_cap_minor) if self.hard_cap_minor else 0

    @property
    def soft_cap_met(self) -> bool:
        return self.paid_minor >= self.soft_cap_minor


# Subscriptions whose payment counts toward the soft cap and the Paid card.
PAID_STATUSES = (SubscriptionStatus.PAID, SubscriptionStatus.ALLOCATED, SubscriptionStatus.ISSUED)


def offering_progress(*, offering: Offering) -> Progress:
    totals = Subscription.objects.filter(offering=offering, status__in=COMMITTED_STATUSES).aggregate(
        committed=Sum("amount_minor"),
        investors=Count("investor", distinct=True),
    )
    paid = paid_total(offering=offering)
    return Progress(
        committed_minor=totals["committed"] or 0,
        paid_minor=paid,
        investors=totals["investors"] or 0,
        soft_cap_minor=offering.soft_cap_minor,
        hard_cap_minor=offering.hard_cap_minor,
    )


def paid_total(*, offering: Offering) -> int:
    """Paid toward the soft cap: each paid subscription counts up to its amount (over-payments go back)."""
    rows = Subscription.objects.filter(offering=offering, status__in=PAID_STATUSES)
    return int(rows.aggregate(t=Sum(Least("paid_minor", "amount_minor")))["t"] or 0)


@dataclass(frozen=True)
class MintFailure:
    batch_id: int
    number: int
    holders: int
    error: str


@dataclass
class MintProgress:
    batches: int = 0
    confirmed: int = 0
    failed: int = 0
    holders: int = 0
    holders_confirmed: int = 0
    failures: list[MintFailure] = field(default_factory=list)

    @property
    def percent(self) -> int:
        return self.holders_confirmed * 100 // self.holders if self.holders else 0


def mint_progress(*, offering: Offering) -> MintProgress:
    progress = MintProgress()
    # A released batch failed with nothing minted; its holders are counted in the batch that replaced it.
    rows = (
        MintBatch.objects.filter(offering=offering, released_at__isnull=True)
        .order_by("number")
        .values_list(
            "pk",
            "number",
            "holders",
            "settled_at",
            "chain_transaction__status",
            "chain_transaction__error_name",
            "chain_transaction__last_error",
            "chain_transaction__error_args",
        )
    )
    for pk, number, holders, settled_at, status, error_name, last_error, error_args in rows:
        progress.batches += 1
        progress.holders += holders
        if status == TxStatus.CONFIRMED or settled_at is not None:
            progress.confirmed += 1
            progress.holders_confirmed += holders
        elif status == TxStatus.FAILED:
            progress.failed += 1
            # A refusal the portal explains (a mint the reserves do not back) is shown in its words.
            reason = refusal_reason(error_name, error_args or {})
            error = reason.rstrip(".") if reason else error_name or last_error[:200]
            progress.failures.append(MintFailure(batch_id=pk, number=number, holders=holders, error=error))
    return progress


@dataclass
class Dashboard:
    offering: Offering
    progress: Progress
    by_status: dict[str, dict[str, int]]
    mint: MintProgress
    refunds: dict[str, int]
    chart: dict[str, Any]
    token: Any
    flagged_wires: int
    token_setup: TokenSetup | None = None


def _cumulative(rows: Iterable[tuple[dt.date, int]]) -> dict[dt.date, int]:
    running, series = 0, {}
    for day, amount in sorted(rows):
        running += amount or 0
        series[day] = running
    return series


# The chart has a point a day; a raise longer than this has one a week, so it stays readable.
CHART_DAILY_POINTS = 120


def _chart_days(first: dt.date, last: dt.date) -> list[dt.date]:
    """Every day from the first to the last (at least two, so a line shows), or every week when long."""
    first = min(first, last - dt.timedelta(days=1))
    span = (last - first).days
    step = 1 if span <= CHART_DAILY_POINTS else 7
    days = [first + dt.timedelta(days=n) for n in range(0, span + 1, step)]
    return days if days[-1] == last else [*days, last]


def offering_chart(*, offering: Offering) -> dict[str, Any]:
    """Cumulative committed and paid amounts over time, counting what the dashboard's cards count: the last
    point is the Committed card (cancelled, expired and rejected subscriptions left out) and the Paid card."""
    committed = (
        Subscription.objects.filter(offering=offering, status__in=COMMITTED_STATUSES)
        .annotate(day=TruncDate("created_at"))
        .values_list("day")
        .annotate(t=Sum("amount_minor"))
        .order_by()
    )
    paid = (
        Subscription.objects.filter(offering=offering, status__in=PAID_STATUSES, paid_at__isnull=False)
        .annotate(day=TruncDate("paid_at"))
        .values_list("day")
        .annotate(t=Sum(Least("paid_minor", "amount_minor")))
        .order_by()
    )
    committed_series, paid_series = _cumulative(committed), _cumulative(paid)
    known = sorted(set(committed_series) | set(paid_series))
    today = timezone.localdate()
    opened = timezone.localtime(offering.published_at).date() if offering.published_at else None
    starts = [d for d in (opened, known[0] if known else None) if d is not None]
    first = min(starts) if starts else today
    # The line runs to today while the offering sells, and to its last movement once it has closed.
    last = max([*known, today if offering.status == OfferingStatus.OPEN else first])
    chart: dict[str, Any] = {"labels": [], "committed": [], "paid": [], "currency": offering.currency}
    running_c = running_p = index = 0
    for day in _chart_days(first, last):
        while index < len(known) and known[index] <= day:
            running_c = committed_series.get(known[index], running_c)
            running_p = paid_series.get(known[index], running_p)
            index += 1
        chart["labels"].append(day.isoformat())
        chart["committed"].append(running_c)
        chart["paid"].append(running_p)
    return chart


def offering_dashboard(*, offering: Offering) -> Dashboard:
    by_status: dict[str, dict[str, int]] = {
        s: {"count": 0, "amount_minor": 0, "paid_minor": 0} for s in SubscriptionStatus.values
    }
    for status, count, amount, paid in (
        Subscription.objects.filter(offering=offering)
        .values_list("status")
        .annotate(n=Count("pk"), a=Sum("amount_minor"), p=Sum("paid_minor"))
        .order_by()
    ):
        by_status[status] = {"count": count, "amount_minor": amount or 0, "paid_minor": paid or 0}
    chart = offering_chart(offering=offering)
    refunds = dict(
        Refund.objects.filter(subscription__offering=offering).values_list("status").annotate(n=Count("pk")).order_by()
    )
    return Dashboard(
        offering=offering,
        progress=offering_progress(offering=offering),
        by_status=by_status,
        mint=mint_progress(offering=offering),
        refunds={s: refunds.get(s, 0) for s in RefundStatus.values},
        chart=chart,
        token=token_deployment(owner_ref=offering.owner_ref),
        token_setup=token_setup(owner_ref=offering.owner_ref),
        flagged_wires=wire_receipts_flagged_for(offering=offering).count(),
    )
