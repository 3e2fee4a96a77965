"""Registry tasks: thin, they call one service each."""

from __future__ import annotations

import datetime as dt

from celery import shared_task

from registry.services.exports import export_job_run, exports_expired_delete
from registry.services.ledger import ledger_sync_all
from registry.services.position_snapshots import position_snapshot_build
from registry.services.reconciliation import reconcile_all
from registry.services.token_admin import token_admin_actions_advance
from tokens.services import CHAIN_TRANSIENT_ERRORS

COMMON = {
    "acks_late": True,
    "autoretry_for": CHAIN_TRANSIENT_ERRORS,
    "max_retries": 0,
    "time_limit": 600,
    "soft_time_limit": 540,
    "ignore_result": True,
}


@shared_task(name="registry.tasks.ledger_sync_task", **COMMON)
def ledger_sync_task() -> int:
    """Post new events, then move each token administration action on to what the outbox and ledger show."""
    posted = ledger_sync_all()
    token_admin_actions_advance()
    return posted


@shared_task(name="registry.tasks.reconcile_task", **COMMON)
def reconcile_task() -> int:
    return reconcile_all()


@shared_task(
    name="registry.tasks.export_job_run_task",
    acks_late=True,
    max_retries=0,
    # A large export may run for a while; the job is marked failed if it is stopped (see the service).
    time_limit=3600,
    soft_time_limit=3540,
    ignore_result=True,
)
def export_job_run_task(job_id: int) -> str:
    return export_job_run(job_id=job_id).state


@shared_task(name="registry.tasks.position_snapshot_build_task", acks_late=True, time_limit=900, ignore_result=True)
def position_snapshot_build_task(offering_id: int, moment: str) -> int:
    """The positions of a large token as of a past moment, for the cap table's as-of page (idempotent)."""
    return position_snapshot_build(offering_id=offering_id, moment=dt.datetime.fromisoformat(moment))


@shared_task(name="registry.tasks.exports_expired_task", acks_late=True, time_limit=600, ignore_result=True)
def exports_expired_task() -> int:
    return exports_expired_delete()


@shared_task(name="registry.tasks.difference_reports_task", **{**COMMON, "autoretry_for": ()})
def difference_reports_task() -> int:
    """Beat, on the first days of a month: last month's 17Ad-11 report for every issuer (built once)."""
    from registry.services.difference_reports import record_difference_reports_build

    return record_difference_reports_build()


@shared_task(
    name="registry.tasks.difference_report_notify_task",
    **{**COMMON, "autoretry_for": (ConnectionError, TimeoutError), "retry_backoff": 30, "max_retries": 5},
)
def difference_report_notify_task(report_id: int) -> int:
    from registry.services.difference_reports import difference_report_notify

    return difference_report_notify(report_id=report_id)
