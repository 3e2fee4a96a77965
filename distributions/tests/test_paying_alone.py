"""A payment run that starts while another run of the same distribution is going returns at once (PostgreSQL).

The beat queues a distribution's payment run every few seconds, and a run of many batches can take longer than
that; without the run lease (core.runs.run_alone) the runs piled up behind the distribution's row lock, each
doing the work again once the one before it committed."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections

from distributions import tasks
from distributions.models import DistributionLine, LinePaymentState, PaymentMethod
from distributions.services.paying import distribution_pay_on_chain
from distributions.tests.paying import approved_distribution
from registry.tests.conftest import Closed
from tokens.models import ChainTransaction

pytestmark = [pytest.mark.chain]


@pytest.mark.django_db(transaction=True)
def test_a_payment_run_started_while_another_is_going_returns_at_once_and_the_distribution_is_paid_once(
    closed: Closed, cast, monkeypatch
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite takes one write lock for the whole database: runs there wait for it in any case")
    distribution = approved_distribution(closed, cast)
    inside = threading.Event()
    release = threading.Event()
    runs: list[str] = []

    def payer(*, distribution_id: int) -> object:  # the real payer, held open once it has started
        runs.append(threading.current_thread().name)
        inside.set()
        release.wait(timeout=20)
        return distribution_pay_on_chain(distribution_id=distribution_id)

    monkeypatch.setitem(tasks.PAYERS, PaymentMethod.STABLECOIN, payer)
    outcome: dict[str, str] = {}

    def first() -> None:
        try:
            outcome["first"] = tasks.distribution_pay_task.run(distribution.pk)
        finally:
            connections.close_all()

    thread = threading.Thread(target=first, name="first")
    thread.start()
    try:
        assert inside.wait(timeout=30), "the first run never reached its payer"
        started = time.monotonic()
        second = tasks.distribution_pay_task.run(distribution.pk)
        waited = time.monotonic() - started
    finally:
        release.set()
        thread.join(timeout=60)
    assert second == tasks.IN_PROGRESS
    assert waited < 2, f"the second run waited {waited:.1f} s for the first"
    assert runs == ["first"]
    assert outcome["first"] != tasks.IN_PROGRESS
    batches = ChainTransaction.objects.filter(idempotency_key__contains=":pay:")
    assert batches.count() == 1
    lines = DistributionLine.objects.filter(distribution=distribution)
    assert {line.payment_state for line in lines} == {LinePaymentState.SENDING}
    distribution.refresh_from_db()
    assert distribution.payment_round == 1

    # The first run gave the lease back: the next run goes ahead (it has nothing new to send).
    assert tasks.distribution_pay_task.run(distribution.pk) != tasks.IN_PROGRESS
    assert len(runs) == 2 and batches.count() == 1
