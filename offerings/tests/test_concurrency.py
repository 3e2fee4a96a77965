"""Many investors subscribing at the same instant never push commitments past the hard cap.

Each thread has its own database connection; the offering's row lock serialises the reservations.
On PostgreSQL this is `SELECT ... FOR UPDATE`; SQLite (immediate transactions) serialises writers too.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from core.errors import Conflict
from investors.tests.support import verified_investor
from offerings.models import Offering, Subscription
from offerings.services.subscriptions import subscription_create
from offerings.tests.support import offering_open

INVESTORS = 24
AMOUNT = 1_000_00
HARD_CAP = 10_000_00


@pytest.mark.django_db(transaction=True)
def test_concurrent_subscriptions_stop_exactly_at_the_hard_cap(cast) -> None:
    offering = offering_open(cast.issuer, cast.admin, hard_cap_minor=HARD_CAP, soft_cap_minor=AMOUNT)
    investors = [verified_investor(accreditation="verified") for _ in range(INVESTORS)]
    start = threading.Barrier(INVESTORS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def subscribe(investor) -> None:
        try:
            start.wait()
            subscription_create(offering=offering, investor=investor, actor=investor.user, amount_minor=AMOUNT)
            result = "ok"
        except Conflict as exc:
            result = exc.code
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=subscribe, args=(i,)) for i in investors]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(set(outcomes)) == ["hard_cap", "ok"], outcomes
    assert outcomes.count("ok") == HARD_CAP // AMOUNT
    offering.refresh_from_db()
    total = sum(Subscription.objects.filter(offering=offering).values_list("amount_minor", flat=True))
    assert offering.committed_minor == total == HARD_CAP
    assert Offering.objects.get(pk=offering.pk).committed_minor <= offering.hard_cap_minor
    assert connection.vendor in ("postgresql", "sqlite")
