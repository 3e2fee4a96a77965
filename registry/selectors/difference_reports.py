"""Reads of the 17Ad-11 threshold table and the monthly reports built from it."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from core.models import Issuer
from registry.models import DifferenceThreshold, RecordDifferenceReport, RecordDifferenceReportIssue


def difference_threshold_for(*, currency: str, capitalization_minor: int) -> DifferenceThreshold | None:
    """The band an issue of that market capitalization falls in: each band's upper end is inclusive
    ("$5 million or less", "greater than $5 million but not more than $50 million", 17Ad-11(c))."""
    bands = DifferenceThreshold.objects.filter(currency=currency)
    band = (
        bands.filter(capitalization_up_to_minor__gte=capitalization_minor)
        .order_by("capitalization_up_to_minor")
        .first()
    )
    return band or bands.filter(capitalization_up_to_minor__isnull=True).first()


def difference_thresholds(*, currency: str = "USD") -> list[DifferenceThreshold]:
    return list(DifferenceThreshold.objects.filter(currency=currency))


def difference_reports_of(*, issuer: Issuer) -> QuerySet[RecordDifferenceReport]:
    """The issuer's monthly reports, newest month first, with their issues (two queries per page)."""
    issues = RecordDifferenceReportIssue.objects.select_related("offering").order_by("offering__title", "pk")
    return (
        RecordDifferenceReport.objects.filter(issuer=issuer)
        .order_by("-month")
        .prefetch_related(Prefetch("issues", queryset=issues))
    )
