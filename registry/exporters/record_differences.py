"""The record-differences report (17Ad-9, 17Ad-11): differences open at a date, with their age."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet
from django.utils import timezone

from core.csv import Cell
from registry.exporters.base import Column, Exporter, ExportParams, moment_text
from registry.models import DifferenceKind, RecordDifference

if TYPE_CHECKING:
    from offerings.models import Offering


def _open_at(offering: Offering, params: ExportParams) -> QuerySet[RecordDifference]:
    at = params.as_of_moment
    rows = RecordDifference.objects.filter(offering=offering)
    if at is None:
        rows = rows.filter(resolved_at__isnull=True)
    else:
        rows = rows.filter(first_found_at__lte=at).filter(Q(resolved_at__isnull=True) | Q(resolved_at__gt=at))
    return rows.order_by("arose_at", "id")


class RecordDifferencesExporter(Exporter):
    identifier = "record_differences"
    verbose_name = "Record differences"
    description = "Differences between the master file, the control book and the chain open at a date, aged."
    columns = (
        Column("kind", "Difference", 2.2),
        Column("expected", "Expected", 0.7),
        Column("actual", "Actual", 0.7),
        Column("difference", "Difference (units)", 0.8),
        Column("arose_at", "Arose (UTC)", 1.1),
        Column("first_found_at", "First found (UTC)", 1.1),
        Column("last_found_at", "Last found (UTC)", 1.1),
        Column("resolved_at", "Resolved (UTC)", 1.1),
        Column("age_days", "Age (days)", 0.5),
        Column("aged", "Aged (> 30 days)", 0.6),
        Column("transaction_hash", "Transaction", 2.0),
    )

    def row_count(self, offering: Offering, params: ExportParams) -> int:
        return _open_at(offering, params).count()

    def rows(self, offering: Offering, params: ExportParams) -> Iterator[Sequence[Cell]]:
        kinds = dict(DifferenceKind.choices)
        now = params.as_of_moment or timezone.now()
        for d in _open_at(offering, params).iterator(chunk_size=self.chunk_size):
            resolved = d.resolved_at if d.resolved_at is not None and d.resolved_at <= now else None
            yield (
                kinds.get(d.kind, d.kind),
                d.expected,
                d.actual,
                d.difference,
                moment_text(d.arose_at),
                moment_text(d.first_found_at),
                moment_text(d.last_found_at),
                moment_text(resolved),
                d.age(now).days,
                "yes" if d.aged(now) else "no",
                d.transaction_hash,
            )
