"""Holders told of their paid lines: one notice each, written together and e-mailed by one task per batch."""

from __future__ import annotations

from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import Notification, NotificationKind
from core.notifications import notifications_events_send
from distributions.models import DistributionLine
from distributions.notices import distribution_lines_paid_notify
from distributions.tests.support import Part, distribution_paid
from investors.tests.support import verified_investor
from offerings.tests.support import offering_draft


def test_lines_paid_together_are_told_in_a_fixed_number_of_queries_and_one_email_task(
    cast, django_capture_on_commit_callbacks
) -> None:
    offering = offering_draft(cast.issuer, cast.admin)
    holders = [verified_investor(name=f"Holder {n}", wallet=None) for n in range(6)]
    distribution = distribution_paid(offering, cast.admin, [Part(h, 100 + n, 10_00 + n) for n, h in enumerate(holders)])
    lines = list(DistributionLine.objects.filter(distribution=distribution).order_by("line_index"))

    def told(ids: list[int]) -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=False) as tasks:
            distribution_lines_paid_notify(line_ids=ids)
        return len(queries), len(tasks)

    two = told([line.pk for line in lines[:2]])
    four = told([line.pk for line in lines[2:]])
    assert two == four and two[1] == 1  # not a query or a task per line
    assert Notification.objects.filter(kind=NotificationKind.DISTRIBUTION_PAID).count() == 6
    told([line.pk for line in lines])  # confirmed again: nobody is told twice
    keys = [f"distribution_line:{line.pk}:paid" for line in lines]
    assert Notification.objects.filter(event_key__in=keys).count() == 6
    assert notifications_events_send(event_keys=keys) == 6
    assert sorted(m.to[0] for m in mail.outbox) == sorted(h.user.email for h in holders)
    notice = Notification.objects.get(event_key=keys[0])
    assert notice.issuer == cast.issuer and "is paid" in notice.subject and "earned 10.00 USD" in notice.body
