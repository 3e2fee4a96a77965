"""Reads of the control book and the record differences reconciliation found."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from offerings.models import Offering
from registry.models import Reconciliation, RecordDifference
from tokens.selectors import explorer_url


@dataclass(frozen=True)
class DifferenceRow:
    difference: RecordDifference
    age_days: int
    aged: bool
    tx_url: str | None


def differences_open(*, offering: Offering, now: dt.datetime | None = None) -> list[DifferenceRow]:
    """Open record differences, oldest first, with their age in calendar days and whether they are aged."""
    now = now or timezone.now()
    rows = RecordDifference.objects.filter(offering=offering, resolved_at__isnull=True).order_by("arose_at", "id")
    return [
        DifferenceRow(
            difference=d,
            age_days=d.age(now).days,
            aged=d.aged(now),
            tx_url=explorer_url(d.transaction_hash or None),
        )
        for d in rows
    ]


def reconciliation_latest(*, offering: Offering) -> Reconciliation | None:
    return Reconciliation.objects.filter(offering=offering).order_by("-ran_at", "-id").first()
