"""17Ad-11 monthly reports of aged record differences, one per issuer and month.

After a month ends, each issue (token) of the issuer is valued: its record differences still open at
the month's end and aged then (more than 30 calendar days, 17Ad-9) are units × the offering's price
per unit. 17Ad-11(c) compares that value with thresholds set by the issue's market capitalization
(units outstanding × price), kept as data in `DifferenceThreshold`: above the first the issuer is told,
above the second the SEC is told too, within 10 business days after the month ends. A report is built
once (the issuer and month are unique) and, when it must be filed, the issuer's admins and transfer
agents are e-mailed after commit.

The thresholds are US dollar figures and the portal keeps no exchange rate: an issue priced in another
currency (with no threshold table of its own) is not valued against them, and a report with aged
differences in such an issue says so and is sent to the issuer's people to value by hand.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from core.audit import audit_record
from core.business_days import business_days_add
from core.errors import ApplicationError
from core.models import Issuer
from core.tasks import task_enqueue_on_commit
from offerings.models import Offering
from registry.models import (
    AGED_AFTER_DAYS,
    RecordDifference,
    RecordDifferenceReport,
    RecordDifferenceReportIssue,
)
from registry.selectors.difference_reports import difference_threshold_for
from registry.selectors.ledger import AsOf, ledger_total

# 17Ad-11(c)(1), (2): the report is due within ten business days following the month's end.
REPORT_DUE_BUSINESS_DAYS = 10


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def month_after(month: dt.date) -> dt.date:
    return dt.date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def month_end_of(month: dt.date) -> dt.datetime:
    """The first instant after the month, in the portal's time zone (the cut-off, exclusive)."""
    return timezone.make_aware(dt.datetime.combine(month_after(month), dt.time.min))


def report_due_on(month: dt.date) -> dt.date:
    """Ten business days after the month's last day (weekends and the holiday calendar skipped)."""
    last_day = month_after(month) - dt.timedelta(days=1)
    return business_days_add(dt.datetime.combine(last_day, dt.time(12, 0)), REPORT_DUE_BUSINESS_DAYS).date()


def _aged_at(offering: Offering, cutoff: dt.datetime) -> list[RecordDifference]:
    """Differences open at the cut-off that had existed for more than 30 calendar days by then."""
    return list(
        RecordDifference.objects.filter(
            offering=offering,
            first_found_at__lt=cutoff,
            arose_at__lt=cutoff - dt.timedelta(days=AGED_AFTER_DAYS),
        )
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=cutoff))
        .order_by("arose_at", "id")
    )


def _issue_line(report: RecordDifferenceReport, offering: Offering, cutoff: dt.datetime) -> RecordDifferenceReportIssue:
    outstanding = ledger_total(offering=offering, as_of=AsOf(at=cutoff - dt.timedelta(microseconds=1)))
    price = offering.price_minor
    capitalization = max(outstanding, 0) * price
    rows: list[dict[str, Any]] = []
    aged_units = 0
    for d in _aged_at(offering, cutoff):
        units = abs(d.difference)
        aged_units += units
        rows.append(
            {
                "id": d.pk,
                "kind": d.kind,
                "label": d.get_kind_display(),
                "transaction_hash": d.transaction_hash,
                "expected": d.expected,
                "actual": d.actual,
                "units": units,
                "value_minor": units * price,
                "arose_at": d.arose_at.isoformat(),
                "age_days": (cutoff - d.arose_at).days,
            }
        )
    value = aged_units * price
    band = difference_threshold_for(currency=offering.currency, capitalization_minor=capitalization)
    # 17Ad-11(c): a report is due when the aggregate value *exceeds* the threshold.
    to_issuer = band is not None and value > band.issuer_report_over_minor
    to_regulator = band is not None and value > band.regulator_report_over_minor
    return RecordDifferenceReportIssue(
        report=report,
        offering=offering,
        currency=offering.currency,
        price_minor=price,
        units_outstanding=outstanding,
        capitalization_minor=capitalization,
        aged_units=aged_units,
        aged_value_minor=value,
        issuer_threshold_minor=band.issuer_report_over_minor if band else None,
        regulator_threshold_minor=band.regulator_report_over_minor if band else None,
        valued=band is not None,
        report_to_issuer=to_issuer or to_regulator,
        report_to_regulator=to_regulator,
        differences=rows,
    )


def record_difference_report_build(
    *, issuer: Issuer, month: dt.date, now: dt.datetime | None = None
) -> tuple[RecordDifferenceReport, bool]:
    """The issuer's report for the month, built now if it does not exist yet; (report, built now)."""
    month = month_start(month)
    cutoff = month_end_of(month)
    if (now or timezone.now()) < cutoff:
        raise ApplicationError(f"{month:%B %Y} has not ended yet; its report is built after it.", code="month_open")
    try:
        with transaction.atomic():
            Issuer.objects.select_for_update().only("pk").get(pk=issuer.pk)
            existing = RecordDifferenceReport.objects.filter(issuer=issuer, month=month).first()
            if existing is not None:
                return existing, False
            report = RecordDifferenceReport.objects.create(
                issuer=issuer, month=month, month_end=cutoff, due_on=report_due_on(month)
            )
            offerings = (
                Offering.objects.filter(issuer=issuer, reconciliations__ran_at__lt=cutoff).distinct().order_by("pk")
            )
            lines = [_issue_line(report, offering, cutoff) for offering in offerings]
            RecordDifferenceReportIssue.objects.bulk_create(lines)
            report.report_to_issuer = any(line.report_to_issuer for line in lines)
            report.report_to_regulator = any(line.report_to_regulator for line in lines)
            # Never "nothing to report" for differences no threshold could be compared with.
            report.needs_valuation = any(not line.valued and line.aged_units for line in lines)
            report.save(update_fields=["report_to_issuer", "report_to_regulator", "needs_valuation"])
            audit_record(
                actor="17Ad-11 report",
                action="registry.difference_report_built",
                obj=report,
                after={
                    "month": month.isoformat(),
                    "due_on": report.due_on.isoformat(),
                    "issues": len(lines),
                    "report_to_issuer": report.report_to_issuer,
                    "report_to_regulator": report.report_to_regulator,
                    "needs_valuation": report.needs_valuation,
                },
                issuer=issuer,
            )
            if report.needs_attention:
                from registry.tasks import difference_report_notify_task

                task_enqueue_on_commit(
                    difference_report_notify_task, report.pk, when_broker_down="the reports page lists it"
                )
            return report, True
    except IntegrityError:
        # Built by another worker between our check and our insert: theirs is the report.
        return RecordDifferenceReport.objects.get(issuer=issuer, month=month), False


def record_difference_reports_build(*, now: dt.datetime | None = None) -> int:
    """The scheduled task: last month's report for every issuer with a reconciled token; how many are new."""
    now = now or timezone.now()
    month = month_start(timezone.localtime(now).date().replace(day=1) - dt.timedelta(days=1))
    cutoff = month_end_of(month)
    issuers = Issuer.objects.filter(offerings__reconciliations__ran_at__lt=cutoff).distinct().order_by("pk")
    built = 0
    for issuer in issuers:
        _, new = record_difference_report_build(issuer=issuer, month=month, now=now)
        built += int(new)
    return built


def difference_report_notify(*, report_id: int) -> int:
    """E-mail the issuer's admins and transfer agents what the report says must be filed, once."""
    from django.core.mail import send_mass_mail
    from django.template.loader import render_to_string
    from django.urls import reverse

    from core.models import IssuerMembership, Role

    with transaction.atomic():
        report = (
            RecordDifferenceReport.objects.select_for_update(of=("self",)).select_related("issuer").get(pk=report_id)
        )
        if report.notified_at is not None or not report.needs_attention:
            return 0
        recipients = sorted(
            IssuerMembership.objects.filter(
                issuer=report.issuer, role__in=[Role.ISSUER_ADMIN, Role.TRANSFER_AGENT]
            ).values_list("user__email", flat=True)
        )
        report.notified_at = timezone.now()
        report.save(update_fields=["notified_at"])
        audit_record(
            actor="17Ad-11 report",
            action="registry.difference_report_notified",
            obj=report,
            after={"recipients": len(recipients)},
            issuer=report.issuer,
        )
    from django.conf import settings

    body = render_to_string(
        "registry/email/difference_report.txt",
        {
            "report": report,
            "issues": [
                line
                for line in report.issues.select_related("offering")
                if line.report_to_issuer or (not line.valued and line.aged_units)
            ],
            "url": getattr(settings, "SITE_URL", "") + reverse("difference_reports", args=[report.issuer.slug]),
        },
    )
    to_whom = "the SEC and the issuer" if report.report_to_regulator else "the issuer"
    if report.must_report:
        subject = f"[Tessera] {report.issuer.name}: 17Ad-11 report to {to_whom} due {report.due_on:%d %b %Y}"
    else:
        subject = f"[Tessera] {report.issuer.name}: aged differences to value for 17Ad-11 by {report.due_on:%d %b %Y}"
    return send_mass_mail([(subject, body, None, [email]) for email in recipients], fail_silently=False)
