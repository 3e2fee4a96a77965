"""17Ad-11: aged record differences valued at the offering's price, compared with the thresholds of the
issue's market capitalization band (data, not code), reported within 10 business days after the month's
end; the monthly task builds each issuer's month once and e-mails the issuer's people when a threshold is
crossed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.test import Client
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import ApplicationError
from core.models import AuditEvent
from core.tests.support import Cast
from offerings.models import Offering
from offerings.tests.support import offering_draft
from registry.models import (
    DifferenceKind,
    DifferenceThreshold,
    Reconciliation,
    RecordDifference,
    RecordDifferenceReport,
)
from registry.selectors.difference_reports import difference_threshold_for
from registry.services.difference_reports import (
    record_difference_report_build,
    record_difference_reports_build,
    report_due_on,
)
from registry.tasks import difference_report_notify_task, difference_reports_task

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("difference_thresholds")]

M = 1_000_000_00  # one million dollars, in cents
UTC = dt.UTC


@pytest.mark.parametrize(
    ("capitalization", "to_issuer", "to_regulator"),
    [
        (0, 50_000_00, 100_000_00),
        (5 * M, 50_000_00, 100_000_00),  # "$5 million or less"
        (5 * M + 1, 250_000_00, 500_000_00),  # "greater than $5 million"
        (50 * M, 250_000_00, 500_000_00),
        (50 * M + 1, 500_000_00, 1_000_000_00),
        (150 * M, 500_000_00, 1_000_000_00),
        (150 * M + 1, 1_000_000_00, 2_000_000_00),  # "greater than $150 million"
        (10**6 * M, 1_000_000_00, 2_000_000_00),
    ],
)
def test_the_threshold_band_includes_its_upper_bound(capitalization: int, to_issuer: int, to_regulator: int) -> None:
    band = difference_threshold_for(currency="USD", capitalization_minor=capitalization)
    assert band is not None
    assert (band.issuer_report_over_minor, band.regulator_report_over_minor) == (to_issuer, to_regulator)


@pytest.mark.django_db
@settings(max_examples=60, deadline=None)
@given(low=st.integers(0, 400 * M), high=st.integers(0, 400 * M))
def test_a_larger_issue_never_has_a_lower_threshold(low: int, high: int) -> None:
    low, high = sorted((low, high))
    a = difference_threshold_for(currency="USD", capitalization_minor=low)
    b = difference_threshold_for(currency="USD", capitalization_minor=high)
    assert a is not None and b is not None
    assert a.issuer_report_over_minor <= b.issuer_report_over_minor
    assert a.regulator_report_over_minor <= b.regulator_report_over_minor
    assert a.capitalization_up_to_minor is None or low <= a.capitalization_up_to_minor


def test_the_thresholds_are_data_the_platform_can_change() -> None:
    top = DifferenceThreshold.objects.get(currency="USD", capitalization_up_to_minor__isnull=True)
    top.issuer_report_over_minor = 1_500_000_00
    top.regulator_report_over_minor = 3_000_000_00
    top.save()
    band = difference_threshold_for(currency="USD", capitalization_minor=200 * M)
    assert band is not None and band.issuer_report_over_minor == 1_500_000_00
    assert difference_threshold_for(currency="EUR", capitalization_minor=0) is None


@pytest.mark.parametrize(
    ("month", "due"),
    [
        (dt.date(2026, 11, 1), dt.date(2026, 12, 14)),  # Monday 30 November + 10 business days
        (dt.date(2026, 12, 1), dt.date(2027, 1, 15)),  # New Year's Day (Friday) is not a business day
        (dt.date(2027, 6, 1), dt.date(2027, 7, 15)),  # Independence Day observed on Monday 5 July
        (dt.date(2027, 2, 1), dt.date(2027, 3, 12)),  # February ends on a Sunday
    ],
)
def test_the_report_is_due_ten_business_days_after_the_month_ends(month: dt.date, due: dt.date) -> None:
    assert report_due_on(month) == due


def _token_with_aged_difference(cast: Cast, *, units: int, arose: dt.datetime) -> Offering:
    """A reconciled token (no units outstanding on its ledger) with a mint the control book does not know."""
    offering = offering_draft(cast.issuer, cast.admin)  # $10.00 a unit
    Reconciliation.objects.create(
        offering=offering,
        issued=0,
        on_chain_supply=units,
        ledger_total=units,
        ledger_block=10,
        differences_open=1,
        ran_at=arose,
    )
    RecordDifference.objects.create(
        offering=offering,
        kind=DifferenceKind.UNRECORDED_ISSUANCE,
        transaction_hash="0x" + "ab" * 32,
        expected=0,
        actual=units,
        arose_at=arose,
        first_found_at=arose,
        last_found_at=arose,
    )
    return offering


def test_the_monthly_task_builds_each_issuers_month_once_and_tells_its_people_once(
    cast: Cast, django_capture_on_commit_callbacks
) -> None:
    # 12,000 units at $10 = $120,000, aged at the end of November: above $100,000 for an issue of ≤ $5M.
    offering = _token_with_aged_difference(cast, units=12_000, arose=dt.datetime(2026, 10, 20, tzinfo=UTC))
    december = dt.datetime(2026, 12, 1, 1, 30, tzinfo=UTC)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert record_difference_reports_build(now=december) == 1
        # The beat runs it on the first three days of the month: nothing is built twice.
        assert record_difference_reports_build(now=december) == 0
        assert record_difference_reports_build(now=december + dt.timedelta(days=2)) == 0
    assert len(queued) == 1  # one notification, for the one report
    difference_reports_task.apply().get()  # the task itself, on today's date
    assert difference_reports_task.apply().get() == 0
    assert RecordDifferenceReport.objects.filter(month=dt.date(2026, 11, 1)).count() == 1
    report = RecordDifferenceReport.objects.get(issuer=cast.issuer, month=dt.date(2026, 11, 1))
    assert report.report_to_issuer and report.report_to_regulator
    assert report.due_on == dt.date(2026, 12, 14)
    (line,) = report.issues.all()
    assert line.offering == offering and line.aged_units == 12_000 and line.aged_value_minor == 120_000_00
    assert (line.issuer_threshold_minor, line.regulator_threshold_minor) == (50_000_00, 100_000_00)
    assert line.differences[0]["transaction_hash"] == "0x" + "ab" * 32
    assert AuditEvent.objects.filter(action="registry.difference_report_built").count() == 1

    assert difference_report_notify_task(report.pk) == 2  # the issuer's admin and its transfer agent
    assert difference_report_notify_task(report.pk) == 0  # told once
    assert sorted(m.to[0] for m in mail.outbox) == ["admin@harbor.example", "ta@agent.example"]
    assert "to the SEC and the issuer due 14 Dec 2026" in mail.outbox[0].subject
    assert "12,000 units worth 120,000.00 USD" in mail.outbox[0].body and "0x" + "ab" * 32 in mail.outbox[0].body
    # On a chain without an explorer the hash links to the portal's own transaction page, as a full address.
    tx_page = reverse("chain_transaction_detail", args=["0x" + "ab" * 32])
    assert f"({django_settings.SITE_URL.rstrip('/')}{tx_page})" in mail.outbox[0].body


def test_a_difference_not_yet_aged_at_the_months_end_or_under_the_threshold_is_not_reported(cast: Cast) -> None:
    # Arose 15 November: 15 days old on 30 November, so not aged in November's report.
    _token_with_aged_difference(cast, units=50_000, arose=dt.datetime(2026, 11, 15, tzinfo=UTC))
    report, built = record_difference_report_build(
        issuer=cast.issuer, month=dt.date(2026, 11, 1), now=dt.datetime(2026, 12, 2, tzinfo=UTC)
    )
    assert built and not report.must_report and report.issues.get().aged_units == 0
    # In December it is aged: 50,000 × $10 = $500,000.
    december, _ = record_difference_report_build(
        issuer=cast.issuer, month=dt.date(2026, 12, 1), now=dt.datetime(2027, 1, 2, tzinfo=UTC)
    )
    assert december.report_to_regulator and december.due_on == dt.date(2027, 1, 15)


def test_a_difference_resolved_before_the_months_end_is_not_reported_but_one_resolved_after_is(cast: Cast) -> None:
    offering = _token_with_aged_difference(cast, units=6_000, arose=dt.datetime(2026, 9, 1, tzinfo=UTC))
    RecordDifference.objects.filter(offering=offering).update(resolved_at=dt.datetime(2026, 12, 3, tzinfo=UTC))
    november, _ = record_difference_report_build(
        issuer=cast.issuer, month=dt.date(2026, 11, 1), now=dt.datetime(2026, 12, 4, tzinfo=UTC)
    )
    assert november.report_to_issuer and not november.report_to_regulator  # $60,000: over $50,000 only
    december, _ = record_difference_report_build(
        issuer=cast.issuer, month=dt.date(2026, 12, 1), now=dt.datetime(2027, 1, 4, tzinfo=UTC)
    )
    assert not december.must_report


def test_a_month_is_reported_only_after_it_ends(cast: Cast) -> None:
    with pytest.raises(ApplicationError):
        record_difference_report_build(
            issuer=cast.issuer, month=dt.date(2026, 11, 1), now=dt.datetime(2026, 11, 30, 23, tzinfo=UTC)
        )
    assert not RecordDifferenceReport.objects.exists()


def test_the_reports_page_says_what_to_report_to_whom_by_when_and_only_to_the_registers_readers(cast: Cast) -> None:
    _token_with_aged_difference(cast, units=12_000, arose=dt.datetime(2026, 10, 20, tzinfo=UTC))
    record_difference_report_build(
        issuer=cast.issuer, month=dt.date(2026, 11, 1), now=dt.datetime(2026, 12, 1, 2, tzinfo=UTC)
    )
    url = f"/issuers/{cast.issuer.slug}/record-differences/reports/"
    for user in (cast.admin, cast.agent):
        client = Client()
        client.force_login(user)
        html = client.get(url).content.decode()
        assert "November 2026" in html and "Report to the SEC and the issuer by 14 Dec 2026" in html
        assert "120,000.00 USD" in html and 'id="thresholds"' in html
    for user in (cast.other_admin, cast.compliance):
        client = Client()
        client.force_login(user)
        assert client.get(url).status_code == 403
    other = Client()
    other.force_login(cast.other_admin)
    own = other.get(f"/issuers/{cast.other_issuer.slug}/record-differences/reports/").content.decode()
    assert "November 2026" not in own and 'id="no-reports"' in own


def test_aged_differences_of_a_token_not_priced_in_dollars_are_marked_not_valued_and_sent_to_value_by_hand(
    cast: Cast, django_capture_on_commit_callbacks
) -> None:
    # 12,000 units at €10: the dollar thresholds cannot value them, and no exchange rate is kept.
    offering = _token_with_aged_difference(cast, units=12_000, arose=dt.datetime(2026, 10, 20, tzinfo=UTC))
    Offering.objects.filter(pk=offering.pk).update(currency="EUR")
    with django_capture_on_commit_callbacks(execute=False) as queued:
        report, _ = record_difference_report_build(
            issuer=cast.issuer, month=dt.date(2026, 11, 1), now=dt.datetime(2026, 12, 1, 2, tzinfo=UTC)
        )
    (line,) = report.issues.all()
    assert not line.valued and line.issuer_threshold_minor is None and line.aged_value_minor == 120_000_00
    assert not report.must_report and report.needs_valuation
    # The issuer's people are told to value them, once.
    assert len(queued) == 1
    assert difference_report_notify_task(report.pk) == 2
    assert difference_report_notify_task(report.pk) == 0
    assert sorted(m.to[0] for m in mail.outbox) == ["admin@harbor.example", "ta@agent.example"]
    assert "aged differences to value" in mail.outbox[0].subject
    assert "not valued in US dollars" in mail.outbox[0].body

    client = Client()
    client.force_login(cast.admin)
    html = client.get(f"/issuers/{cast.issuer.slug}/record-differences/reports/").content.decode()
    assert "Nothing to report" not in html and "Value by hand by 14 Dec 2026" in html
    assert "not valued: priced in EUR, the thresholds are in USD" in html
