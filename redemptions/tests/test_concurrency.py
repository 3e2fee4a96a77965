"""Holders asking to redeem at the same moment do not wait on each other (PostgreSQL, real row locks).

The first request of a dealing day opens the day in a short transaction of its own: opened inside the request's
transaction, the day's row (and the audit chain head its opening event locks) would stay uncommitted until that
request committed, and every other holder's request for the day would wait for it. A request takes the audit
chain head only for its last write."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from django.db import connection, connections, transaction

from investors.models import InvestorProfile
from redemptions.models import DealingDay, RedemptionRequest, RequestState
from redemptions.services.requesting import redemption_request
from redemptions.tests.support import terms_set
from registry.tests.conftest import Closed
from tokens.tests.support import WALLETS

pytestmark = [pytest.mark.chain]


def _sessions_waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
        return int(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True)
def test_a_holders_request_goes_through_while_another_holders_first_request_of_the_day_is_still_open(
    closed: Closed, cast
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite takes one write lock for the whole database: there are no row locks to show")
    terms_set(closed.offering, cast.admin)
    assert not DealingDay.objects.exists()
    release = threading.Event()
    holding = threading.Event()
    outcome: dict[str, object] = {}
    alices_key = str(uuid.uuid4())

    def hold_alices_form_key() -> None:
        # Another session is writing a request under the key of Alice's form (her submission sent twice): until
        # it ends, her request waits at its own insert, its dealing day already opened.
        try:
            with transaction.atomic():
                RedemptionRequest.objects.create(
                    dealing_day_id=2**31 - 1,  # foreign keys are checked at commit, which never comes
                    offering=closed.offering,
                    investor=closed.alice,
                    wallet=WALLETS[0],
                    quantity=1,
                    idempotency_key=alices_key,
                    requested_by=closed.alice.user,
                )
                holding.set()
                release.wait(timeout=60)
                transaction.set_rollback(True)
        finally:
            connections.close_all()

    def ask(name: str, investor: InvestorProfile, wallet: str, quantity: int, key: str, lock_timeout: str) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"SET lock_timeout = '{lock_timeout}'")
            outcome[name] = redemption_request(
                offering=closed.offering,
                investor=investor,
                actor=investor.user,
                wallet=wallet,
                quantity=quantity,
                idempotency_key=key,
            )
        except Exception as exc:  # noqa: BLE001 - a lock timeout is what this test looks for
            outcome[name] = exc
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_alices_form_key)
    holder.start()
    assert holding.wait(timeout=30)
    alice = threading.Thread(target=ask, args=("alice", closed.alice, WALLETS[0], 150, alices_key, "60s"))
    alice.start()
    deadline = time.monotonic() + 30
    while not _sessions_waiting_on_a_lock():
        assert time.monotonic() < deadline, f"Alice's request never reached its insert: {outcome}"
        time.sleep(0.05)

    # Alice's request is open: it opened the dealing day and waits at its insert. Bob asks now; waiting longer
    # than 5 s for a lock would be waiting on Alice's request.
    bob = threading.Thread(target=ask, args=("bob", closed.bob, WALLETS[2], 100, str(uuid.uuid4()), "5s"))
    bob.start()
    bob.join(timeout=30)
    try:
        assert not isinstance(outcome.get("bob"), Exception), f"Bob waited on Alice's request: {outcome['bob']}"
        assert isinstance(outcome.get("bob"), RedemptionRequest) and alice.is_alive()
    finally:
        release.set()
        alice.join(timeout=30)
        holder.join(timeout=30)
    # The other session rolled back: Alice's request is taken under her key, once.
    assert isinstance(outcome.get("alice"), RedemptionRequest), outcome.get("alice")
    (day,) = DealingDay.objects.all()
    requests = RedemptionRequest.objects.filter(dealing_day=day)
    assert sorted(requests.values_list("quantity", "state")) == [
        (100, RequestState.FREEZING),
        (150, RequestState.FREEZING),
    ]


def _sessions_of_this_database_waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return int(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("day_open", [False, True], ids=["first_request_of_the_day", "day_already_open"])
def test_a_request_and_a_run_that_locks_the_offering_before_its_own_event_never_deadlock(
    closed: Closed, cast, day_open: bool
) -> None:
    """A run that locks the offering for update and then writes an event (the ledger's sync does, every few
    seconds) holds the offering while a request commits. PostgreSQL checks the request's reference to the
    offering at commit, after the request took the audit chain head: taken in that order, each waited on the
    other and PostgreSQL killed one (it did in bench.redemption). The request takes the offering's key share
    first, so it waits for the run and both go through."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite takes one write lock for the whole database: there are no row locks to show")
    from core.audit import audit_record
    from offerings.models import Offering

    terms_set(closed.offering, cast.admin)
    if day_open:
        bob = redemption_request(
            offering=closed.offering,
            investor=closed.bob,
            actor=closed.bob.user,
            wallet=WALLETS[2],
            quantity=100,
            idempotency_key=str(uuid.uuid4()),
        )
        assert bob.state == RequestState.FREEZING
    holding, go = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def run_holding_the_offering() -> None:
        try:
            with transaction.atomic():
                Offering.objects.select_for_update().only("pk").get(pk=closed.offering.pk)
                holding.set()
                go.wait(timeout=60)  # Alice's request is waiting by now
                audit_record(actor="registry", action="ledger.synced", obj=closed.offering, issuer=cast.issuer)
            outcome["run"] = "committed"
        except Exception as exc:  # noqa: BLE001 - a deadlock is what this test looks for
            outcome["run"] = exc
        finally:
            connections.close_all()

    def ask() -> None:
        try:
            outcome["alice"] = redemption_request(
                offering=closed.offering,
                investor=closed.alice,
                actor=closed.alice.user,
                wallet=WALLETS[0],
                quantity=150,
                idempotency_key=str(uuid.uuid4()),
            )
        except Exception as exc:  # noqa: BLE001 - a deadlock is what this test looks for
            outcome["alice"] = exc
        finally:
            connections.close_all()

    run = threading.Thread(target=run_holding_the_offering)
    run.start()
    assert holding.wait(timeout=30)
    alice = threading.Thread(target=ask)
    alice.start()
    deadline = time.monotonic() + 30
    while not _sessions_of_this_database_waiting_on_a_lock():
        assert time.monotonic() < deadline, f"Alice's request never waited on the run: {outcome}"
        time.sleep(0.05)
    go.set()
    run.join(timeout=60)
    alice.join(timeout=60)
    assert outcome.get("run") == "committed", outcome.get("run")
    assert isinstance(outcome.get("alice"), RedemptionRequest), outcome.get("alice")
    assert RedemptionRequest.objects.filter(investor=closed.alice, state=RequestState.FREEZING).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_dealing_day_cut_off_and_priced_in_one_run_and_a_run_that_locks_the_offering_never_deadlock(
    closed: Closed, cast
) -> None:
    """Cut off and priced in one transaction, the day's row is written twice, so PostgreSQL checks its reference
    to the offering at commit, after the audit chain head was taken (it deadlocked in bench.redemption)."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite takes one write lock for the whole database: there are no row locks to show")
    import datetime as dt

    from django.utils import timezone

    from core.audit import audit_record
    from offerings.models import Offering
    from redemptions.models import DealingState
    from redemptions.services.dealing import dealing_day_nav_enter, dealing_day_price
    from redemptions.tests.support import requested, settled_on_chain

    terms_set(closed.offering, cast.admin)
    request = requested(closed.offering, closed.alice, WALLETS[0], 150)
    settled_on_chain(closed)
    day = DealingDay.objects.get(pk=request.dealing_day_id)
    dealing_day_nav_enter(day=day, actor=cast.admin, nav="1.02", source="NAV statement of the day")
    DealingDay.objects.filter(pk=day.pk).update(cutoff_at=timezone.now() - dt.timedelta(seconds=1))
    holding, go = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def run_holding_the_offering() -> None:
        try:
            with transaction.atomic():
                Offering.objects.select_for_update().only("pk").get(pk=closed.offering.pk)
                holding.set()
                go.wait(timeout=60)
                audit_record(actor="registry", action="ledger.synced", obj=closed.offering, issuer=cast.issuer)
            outcome["run"] = "committed"
        except Exception as exc:  # noqa: BLE001 - a deadlock is what this test looks for
            outcome["run"] = exc
        finally:
            connections.close_all()

    def price() -> None:
        try:
            outcome["day"] = dealing_day_price(day_id=day.pk)
        except Exception as exc:  # noqa: BLE001 - a deadlock is what this test looks for
            outcome["day"] = exc
        finally:
            connections.close_all()

    run = threading.Thread(target=run_holding_the_offering)
    run.start()
    assert holding.wait(timeout=30)
    pricing = threading.Thread(target=price)
    pricing.start()
    deadline = time.monotonic() + 30
    while not _sessions_of_this_database_waiting_on_a_lock():
        assert time.monotonic() < deadline, f"the pricing never waited on the run: {outcome}"
        time.sleep(0.05)
    go.set()
    run.join(timeout=60)
    pricing.join(timeout=60)
    assert outcome.get("run") == "committed", outcome.get("run")
    assert isinstance(outcome.get("day"), DealingDay), outcome.get("day")
    assert DealingDay.objects.get(pk=day.pk).state == DealingState.PRICED
