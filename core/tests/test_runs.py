"""One run at a time of a periodic pass (core.runs.run_alone), and a lease a dead worker holds ends by itself."""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import threading
import time

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from core.models import RunLease
from core.runs import run_alone


@pytest.mark.django_db
def test_a_run_inside_another_run_of_the_same_pass_is_told_no_and_the_lease_is_given_back_after() -> None:
    with run_alone("pass:a") as mine:
        assert mine
        with run_alone("pass:a") as second, run_alone("pass:b") as other:
            assert not second and other
    with run_alone("pass:a") as again:
        assert again
    assert RunLease.objects.filter(name="pass:a").count() == 1


@pytest.mark.django_db
def test_a_run_that_raised_gives_its_lease_back() -> None:
    with pytest.raises(RuntimeError), run_alone("pass:a"):
        raise RuntimeError("the run failed")
    with run_alone("pass:a") as mine:
        assert mine


@pytest.mark.django_db
def test_a_lease_held_on_another_host_holds_until_it_expires() -> None:
    later = timezone.now() + dt.timedelta(minutes=5)
    RunLease.objects.create(name="pass:a", token="t", holder="elsewhere.example:1", expires_at=later)
    with run_alone("pass:a") as mine:
        assert not mine
    RunLease.objects.filter(name="pass:a").update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    with run_alone("pass:a") as mine:
        assert mine


@pytest.mark.django_db
def test_a_lease_whose_process_on_this_host_has_ended_is_taken_over_at_once() -> None:
    ended = subprocess.Popen(["true"])
    ended.wait()
    later = timezone.now() + dt.timedelta(minutes=5)
    holder = f"{socket.gethostname()}:{ended.pid}"
    RunLease.objects.create(name="pass:a", token="t", holder=holder, expires_at=later)
    with run_alone("pass:a") as mine:
        assert mine


@pytest.mark.django_db(transaction=True)
def test_a_run_finding_the_lease_being_taken_by_another_session_is_told_no_without_waiting() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no row locks to skip")
    with run_alone("pass:a"):
        pass  # the row exists
    taking = threading.Event()
    release = threading.Event()

    def hold_the_row() -> None:  # another session inside the transaction that takes the lease
        try:
            with transaction.atomic():
                RunLease.objects.select_for_update().get(name="pass:a")
                taking.set()
                release.wait(timeout=20)
        finally:
            connections.close_all()

    thread = threading.Thread(target=hold_the_row)
    thread.start()
    try:
        assert taking.wait(timeout=10)
        started = time.monotonic()
        with run_alone("pass:a") as mine:
            waited = time.monotonic() - started
    finally:
        release.set()
        thread.join(timeout=30)
    assert not mine
    assert waited < 2
