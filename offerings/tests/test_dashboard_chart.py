"""The dashboard's "over time" chart counts what its cards count: cancelled, expired and rejected subscriptions
are left out of the committed line, the paid line counts each paid subscription up to its amount, and the last
point of each is the card's figure; the chart has a point a day from the opening, so there is a line to read."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.tests.support import Cast
from investors.models import InvestorProfile
from investors.tests.support import verified_investor
from offerings.models import Subscription, SubscriptionStatus
from offerings.selectors.offerings import offering_chart, offering_progress
from offerings.tests.support import offering_open

pytestmark = pytest.mark.django_db

_references = itertools.count(1)

SUBSCRIPTIONS = st.lists(
    st.tuples(
        st.sampled_from(list(SubscriptionStatus)),
        st.integers(min_value=1, max_value=50),  # whole tokens of 10.00
        st.integers(min_value=0, max_value=20),  # days after the opening
        st.integers(min_value=0, max_value=3),  # days until paid
        st.integers(min_value=0, max_value=120),  # percent of the amount paid
    ),
    max_size=12,
)


def _subscription(offering, investor, status, tokens, created_day, paid_after, paid_percent) -> None:
    amount = tokens * offering.price_minor
    paid_now = status in (SubscriptionStatus.PAID, SubscriptionStatus.ALLOCATED, SubscriptionStatus.ISSUED)
    created = timezone.now() - dt.timedelta(days=25 - created_day)
    row = Subscription.objects.create(
        offering=offering,
        investor=investor,
        amount_minor=amount,
        currency=offering.currency,
        quantity=tokens,
        status=status,
        paid_minor=amount * paid_percent // 100 if paid_now else 0,
        wire_reference=f"CHART{next(_references):08d}",
        paid_at=created + dt.timedelta(days=paid_after) if paid_now or paid_percent > 100 else None,
    )
    Subscription.objects.filter(pk=row.pk).update(created_at=created)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=SUBSCRIPTIONS)
def test_the_charts_last_points_are_the_committed_and_paid_cards(cast: Cast, rows) -> None:
    # One offering and investor for every example; each example's subscriptions are removed after it.
    offering = cast.issuer.offerings.first() or offering_open(cast.issuer, cast.admin)
    investor = InvestorProfile.objects.filter(user=cast.investor).first() or verified_investor(
        user=cast.investor, accreditation="verified"
    )
    try:
        for row in rows:
            _subscription(offering, investor, *row)

        chart = offering_chart(offering=offering)
        progress = offering_progress(offering=offering)

        assert chart["committed"][-1] == progress.committed_minor
        assert chart["paid"][-1] == progress.paid_minor
        assert chart["committed"] == sorted(chart["committed"]) and chart["paid"] == sorted(chart["paid"])
        assert len(chart["labels"]) >= 2 and chart["labels"][-1] == timezone.localdate().isoformat()
    finally:
        Subscription.objects.filter(offering=offering).delete()


def test_a_cancelled_subscription_leaves_the_line_and_a_day_without_news_keeps_a_point(cast: Cast) -> None:
    offering = offering_open(cast.issuer, cast.admin)
    investor = verified_investor(accreditation="verified")
    _subscription(offering, investor, SubscriptionStatus.ISSUED, 100, 5, 1, 100)
    _subscription(offering, investor, SubscriptionStatus.CANCELLED, 300, 6, 0, 0)

    chart = offering_chart(offering=offering)

    assert max(chart["committed"]) == 1_000_00  # the cancelled 3,000.00 is not counted
    assert len(chart["labels"]) == len(set(chart["labels"])) >= 20  # a point a day since the first sale
