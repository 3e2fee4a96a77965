"""Investor tasks: thin, they call one service each."""

from __future__ import annotations

from celery import shared_task


@shared_task(
    name="investors.tasks.holder_records_purge_task",
    acks_late=True,
    max_retries=0,
    time_limit=600,
    soft_time_limit=540,
    ignore_result=True,
)
def holder_records_purge_task() -> int:
    from investors.services.holder_records import holder_records_purge

    return holder_records_purge()
