"""One run at a time of a periodic pass: a run that finds another of the same pass going returns at once.

The beat sends its passes every few seconds and a pass can take longer than that (a register of many holders,
a payment run of many batches); runs that pile up behind one another do the same work again. `run_alone`
takes a lease row for the pass (`core.models.RunLease`) and gives it back when the run ends. Taking it never
waits: the row is read with SKIP LOCKED, so a run that finds it being taken, or held, is told no at once.

A lease a dead worker holds ends by itself: it expires after `seconds`, and a run on the same host takes it
over at once when the process that holds it is gone. Runs stay safe to run together (each pass still orders
its writes with row locks): the lease only spares the work, so a run that outlives its lease is no harm.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.models import RunLease

# A run that outlives its lease lets the next run start beside it, which is safe (the passes order their writes
# with row locks); a lease a dead worker on another host holds keeps the pass waiting at most this long.
LEASE_SECONDS = 60


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _holder_gone(holder: str) -> bool:
    """The process named by `holder` ran on this host and has ended."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _take(name: str, token: str, seconds: int) -> bool:
    now = timezone.now()
    expires = now + dt.timedelta(seconds=seconds)
    with transaction.atomic():
        lease = RunLease.objects.select_for_update(skip_locked=True).filter(name=name).first()
        if lease is None:
            if RunLease.objects.filter(name=name).exists():
                return False  # another run is taking it at this moment
            try:
                with transaction.atomic():
                    RunLease.objects.create(name=name, token=token, holder=_holder(), expires_at=expires)
            except IntegrityError:
                return False  # another run created it first
            return True
        if lease.expires_at > now and not _holder_gone(lease.holder):
            return False
        lease.token, lease.holder, lease.expires_at = token, _holder(), expires
        lease.save(update_fields=["token", "holder", "expires_at"])
        return True


@contextmanager
def run_alone(name: str, *, seconds: int = LEASE_SECONDS) -> Iterator[bool]:
    """`with run_alone("pass:key") as mine:` — `mine` is False while another run of the pass holds it."""
    token = uuid.uuid4().hex
    mine = _take(name, token, seconds)
    try:
        yield mine
    finally:
        if mine:
            RunLease.objects.filter(name=name, token=token).update(expires_at=timezone.now())


P = ParamSpec("P")
R = TypeVar("R")


def one_run_at_a_time(name: Callable[P, str], *, busy: R) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Make a pass run alone: while another run of it (the lease `name(*args)` names) is going, a run returns
    `busy` at once, doing nothing."""

    def decorate(run: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(run)
        def alone(*args: P.args, **kwargs: P.kwargs) -> R:
            with run_alone(name(*args, **kwargs)) as mine:
                return run(*args, **kwargs) if mine else busy

        return alone

    return decorate
