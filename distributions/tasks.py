"""Distribution tasks: thin, they take ids and call one service each.

The beat's `bank_payment_runs_task` hands every bank-file distribution due for payment (or being paid) to
`bank_payment_run_task`, which writes at most one payment run a day for it.
"""

from __future__ import annotations

from celery import shared_task

from distributions.selectors import bank_file_distributions_due
from distributions.services.bank_file import distribution_pay_by_bank_file

BANK_COMMON = {
    "acks_late": True,
    # Writing a run touches only the database and storage: nothing transient to retry; the next beat tries again.
    "max_retries": 0,
    "time_limit": 600,
    "soft_time_limit": 540,
    "ignore_result": True,
}


@shared_task(name="distributions.tasks.bank_payment_runs_task", **BANK_COMMON)
def bank_payment_runs_task() -> int:
    """Beat: queue the day's payment run of each bank-file distribution that is due."""
    due = bank_file_distributions_due()
    for distribution_id in due:
        bank_payment_run_task.delay(distribution_id)
    return len(due)


@shared_task(name="distributions.tasks.bank_payment_run_task", **BANK_COMMON)
def bank_payment_run_task(distribution_id: int) -> str:
    return distribution_pay_by_bank_file(distribution_id=distribution_id)
