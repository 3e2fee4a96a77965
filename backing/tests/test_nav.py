"""NAV per unit: declared to a fixed number of decimal places and kept as an integer, entered with its document and
approved by a second admin, never edited but corrected; forward pricing's arithmetic exact to the minor unit; the
issuer's pages, the offering's page and the public NAV document."""

from __future__ import annotations

import datetime as dt
import hashlib
from fractions import Fraction

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from backing.models import NavPoint, NavTerms, StatementState
from backing.quantities import units_at_nav, units_value_minor
from backing.selectors import dealing_day_of, nav_history, nav_latest
from backing.services.nav import nav_point_propose, nav_terms_save
from core.approvals import approval_approve
from core.errors import ApplicationError, Conflict, NotPermitted
from core.models import AuditEvent
from core.tests.files import pdf_bytes
from offerings.tests.support import offering_open
from registry.tests.support import second_admin

CUTOFF = dt.time(16, 0)


def _statement(text: str = "NAV statement") -> SimpleUploadedFile:
    return SimpleUploadedFile("nav.pdf", pdf_bytes(text), "application/pdf")


def nav_entered(offering, actor, day: dt.date, nav: str) -> NavPoint:
    return nav_point_propose(
        offering=offering,
        dealing_day=day,
        nav=nav,
        source="Harbor Fund Administration Ltd",
        document=_statement(f"{day} {nav}"),
        actor=actor,
    )


def nav_approved(offering, actor, approver, day: dt.date, nav: str) -> NavPoint:
    point = nav_entered(offering, actor, day, nav)
    assert point.approval_request is not None
    approval_approve(request=point.approval_request, actor=approver)
    point.refresh_from_db()
    return point


# --------------------------------------------------------------------------- arithmetic (no database)


@given(
    amount=st.integers(min_value=1, max_value=10**15),
    nav=st.integers(min_value=1, max_value=10**15),
    scale=st.integers(min_value=0, max_value=12),
    exponent=st.sampled_from([0, 2, 3]),
)
def test_units_at_nav_are_the_most_whole_units_the_amount_buys_and_cost_what_the_nav_says_rounded_up(
    amount: int, nav: int, scale: int, exponent: int
) -> None:
    units, cost = units_at_nav(amount_minor=amount, nav_per_unit=nav, nav_scale=scale, currency_exponent=exponent)
    per_unit_minor = Fraction(nav * 10**exponent, 10**scale)  # one unit's exact price in minor units
    assert units * per_unit_minor <= amount < (units + 1) * per_unit_minor  # the most whole units, no part unit
    assert units * per_unit_minor <= cost < units * per_unit_minor + 1  # the exact cost, rounded up to the minor unit
    assert amount - cost >= 0  # never more than was paid: the rest is paid back
    value = units_value_minor(units=units, nav_per_unit=nav, nav_scale=scale, currency_exponent=exponent)
    assert value <= units * per_unit_minor < value + 1  # the holding's value, rounded down


def test_a_worked_example_at_eight_decimal_places() -> None:
    # $2,000.00 at 10.23456789 USD a unit: 195 units (195.416…), costing 1,995.740738… rounded up to $1,995.75.
    assert units_at_nav(amount_minor=2_000_00, nav_per_unit=10_23456789, nav_scale=8, currency_exponent=2) == (
        195,
        1_995_75,
    )
    assert units_value_minor(units=195, nav_per_unit=10_30000000, nav_scale=8, currency_exponent=2) == 2_008_50


@pytest.mark.parametrize(
    ("moment", "day"),
    [
        (dt.datetime(2026, 3, 4, 15, 59, tzinfo=dt.UTC), dt.date(2026, 3, 4)),  # Wednesday, before the cut-off
        (dt.datetime(2026, 3, 4, 16, 0, tzinfo=dt.UTC), dt.date(2026, 3, 4)),  # at it
        (dt.datetime(2026, 3, 4, 16, 1, tzinfo=dt.UTC), dt.date(2026, 3, 5)),  # after it: Thursday
        (dt.datetime(2026, 3, 6, 18, 0, tzinfo=dt.UTC), dt.date(2026, 3, 9)),  # Friday evening: Monday
        (dt.datetime(2026, 3, 7, 10, 0, tzinfo=dt.UTC), dt.date(2026, 3, 9)),  # Saturday: Monday
        (dt.datetime(2026, 7, 3, 10, 0, tzinfo=dt.UTC), dt.date(2026, 7, 6)),  # US Independence Day observed
        # The cut-off is in UTC: 10:30 in New York (UTC-5) is before it, 11:30 after.
        (dt.datetime(2026, 3, 4, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5))), dt.date(2026, 3, 4)),
        (dt.datetime(2026, 3, 4, 11, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5))), dt.date(2026, 3, 5)),
    ],
)
def test_an_order_deals_on_the_first_business_day_whose_cut_off_it_came_before(moment, day) -> None:
    terms = NavTerms(scale=8, cutoff=CUTOFF)
    assert dealing_day_of(terms=terms, moment=moment) == day


# --------------------------------------------------------------------------- NAV points


@pytest.fixture
def offering(cast):
    offering = offering_open(cast.issuer, cast.admin)
    nav_terms_save(offering=offering, scale=8, priced_at_nav=False, cutoff=CUTOFF, actor=cast.admin)
    return offering


@pytest.mark.django_db
def test_a_nav_counts_once_a_second_admin_approves_it_and_keeps_every_declared_decimal(cast, offering) -> None:
    day = timezone.localdate() - dt.timedelta(days=1)
    point = nav_entered(offering, cast.admin, day, "1.02345678")
    assert point.nav_per_unit == 102_345_678 and point.scale == 8 and point.state == StatementState.PENDING
    assert nav_latest(offering=offering) is None
    assert point.approval_request is not None
    with pytest.raises(NotPermitted):
        approval_approve(request=point.approval_request, actor=cast.admin)
    approval_approve(request=point.approval_request, actor=second_admin(cast.issuer))
    assert nav_latest(offering=offering) == point
    assert point.document_sha256 == hashlib.sha256(pdf_bytes(f"{day} 1.02345678")).hexdigest()
    events = AuditEvent.objects.filter(action__startswith="backing.nav").order_by("pk")
    actions = list(events.values_list("action", flat=True))
    assert actions == ["backing.nav_terms_saved", "backing.nav_point_entered", "backing.nav_point_approved"]


@pytest.mark.django_db
def test_a_correction_supersedes_the_days_nav_which_is_never_edited(cast, offering) -> None:
    approver = second_admin(cast.issuer)
    day = timezone.localdate() - dt.timedelta(days=2)
    first = nav_approved(offering, cast.admin, approver, day, "1.00000000")
    corrected = nav_approved(offering, cast.admin, approver, day, "1.00000001")
    first.refresh_from_db()
    assert first.state == StatementState.SUPERSEDED and corrected.supersedes == first
    assert [p.nav_per_unit for p in nav_history(offering=offering)] == [100_000_001]
    with pytest.raises(RuntimeError, match="never edited"):
        first.save()
    # The database refuses it too (SQLite aborts, PostgreSQL raises from the trigger).
    with pytest.raises(DatabaseError, match="never edited"), transaction.atomic():
        NavPoint.objects.filter(pk=first.pk).update(nav_per_unit=2)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("nav", "days_ago", "message"),
    [
        ("1.000000001", 1, "more than 8 decimal places"),
        ("-1", 1, "cannot be negative"),
        ("0", 1, "more than zero"),
        ("one", 1, "as a number"),
        ("1.00", -1, "cannot be in the future"),
    ],
)
def test_a_bad_nav_is_refused_with_the_reason_and_nothing_is_recorded(cast, offering, nav, days_ago, message) -> None:
    with pytest.raises(ApplicationError, match=message):
        nav_entered(offering, cast.admin, timezone.localdate() - dt.timedelta(days=days_ago), nav)
    assert not NavPoint.objects.exists()


@pytest.mark.django_db
def test_the_declared_places_are_fixed_once_a_nav_is_entered_and_a_statement_must_be_a_pdf(cast, offering) -> None:
    with pytest.raises(ApplicationError, match="is not a PDF"):
        nav_point_propose(
            offering=offering,
            dealing_day=timezone.localdate(),
            nav="1.00",
            source="Administrator",
            document=SimpleUploadedFile("nav.txt", b"1.00", "text/plain"),
            actor=cast.admin,
        )
    nav_entered(offering, cast.admin, timezone.localdate(), "1.00")
    with pytest.raises(ApplicationError, match="cannot change"):
        nav_terms_save(offering=offering, scale=6, priced_at_nav=False, cutoff=CUTOFF, actor=cast.admin)


@pytest.mark.django_db
def test_pricing_at_nav_is_decided_before_the_first_subscription(cast) -> None:
    from investors.tests.support import verified_investor
    from offerings.tests.support import subscribed

    offering = offering_open(cast.issuer, cast.admin)
    subscribed(offering, verified_investor(accreditation="verified"), 2_000_00)
    with pytest.raises(ApplicationError, match="cannot change now"):
        nav_terms_save(offering=offering, scale=8, priced_at_nav=True, cutoff=CUTOFF, actor=cast.admin)
    assert not NavTerms.objects.filter(offering=offering).exists()


@pytest.mark.django_db
def test_an_admin_enters_a_nav_on_the_page_and_a_second_admin_approves_it_there(cast, offering) -> None:
    admin, other = Client(), Client()
    admin.force_login(cast.admin)
    other.force_login(second_admin(cast.issuer))
    day = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    new = reverse("nav_point_new", args=[cast.issuer.slug, offering.public_id])
    refused = admin.post(new, {"dealing_day": day, "nav": "1.5", "source": "", "document": _statement()})
    assert refused.status_code == 400 and NavPoint.objects.count() == 0
    entered = admin.post(
        new, {"dealing_day": day, "nav": "1.5", "source": "Harbor Fund Administration Ltd", "document": _statement()}
    )
    assert entered.status_code == 302
    point = NavPoint.objects.get()
    detail = reverse("nav_point_detail", args=[cast.issuer.slug, point.public_id])
    assert 'value="approve"' not in admin.get(detail).content.decode()
    assert "1.50000000 USD" in other.get(detail).content.decode()
    other.post(reverse("nav_point_decide", args=[cast.issuer.slug, point.public_id]), {"decision": "approve"})
    point.refresh_from_db()
    assert point.state == StatementState.APPROVED
    overview = admin.get(reverse("nav_overview", args=[cast.issuer.slug, offering.public_id])).content.decode()
    assert "1.50000000 USD" in overview and "Approved" in overview


@pytest.mark.django_db
def test_the_offering_page_charts_the_nav_with_its_documents_for_anyone_who_reads_it(cast, offering) -> None:
    approver = second_admin(cast.issuer)
    today = timezone.localdate()
    nav_approved(offering, cast.admin, approver, today - dt.timedelta(days=2), "1.00000000")
    latest = nav_approved(offering, cast.admin, approver, today - dt.timedelta(days=1), "1.01000000")
    client = Client()
    client.force_login(cast.investor)
    page = client.get(reverse("offering_detail", args=[offering.public_id])).content.decode()
    assert 'id="nav-chart"' in page and 'id="nav-chart-table"' in page and "1.01000000 USD" in page
    document = reverse("transparency_nav_document", args=[offering.public_id, latest.public_id])
    assert document in page
    download = client.get(document)
    assert download.status_code == 200
    assert hashlib.sha256(download.getvalue()).hexdigest() == latest.document_sha256
    pending = nav_entered(offering, cast.admin, today, "1.02000000")
    assert (
        client.get(reverse("transparency_nav_document", args=[offering.public_id, pending.public_id])).status_code
        == 404
    )


@pytest.mark.django_db
def test_a_nav_that_subscriptions_were_issued_at_is_not_corrected(cast, offering) -> None:
    from backing.models import NavPricing
    from investors.tests.support import verified_investor
    from offerings.tests.support import subscribed

    approver = second_admin(cast.issuer)
    day = timezone.localdate() - dt.timedelta(days=1)
    point = nav_approved(offering, cast.admin, approver, day, "10.00000000")
    s = subscribed(offering, verified_investor(accreditation="verified"), 2_000_00)
    NavPricing.objects.create(
        subscription=s,
        dealing_day=day,
        nav_point=point,
        estimated_quantity=200,
        quantity=200,
        amount_minor=2_000_00,
        cost_minor=2_000_00,
    )
    correction = nav_entered(offering, cast.admin, day, "10.50000000")
    assert correction.approval_request is not None
    with pytest.raises(Conflict, match="issued at the NAV"):
        approval_approve(request=correction.approval_request, actor=approver)
