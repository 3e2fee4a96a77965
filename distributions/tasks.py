"""Distribution tasks: thin, they take ids and call one service each.

The beat's `bank_payment_runs_task` hands every bank-file distribution due for payment (or being paid) to
`bank_payment_run_task`, which mints what reinvesting holders are due and writes at most one payment run a day
for it (the cash of a reinvesting holder whose tokens were not minted yet goes in the next day's run). The beat's
`distributions_advance_task` computes the registers that fell due and hands every distribution of a
method in `PAYERS` that is due for payment (or still being paid) to `distribution_pay_task`, which
mints what reinvesting holders are due (`distribution_reinvest_due`) and then calls its payer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from celery import shared_task

from core.errors import ApplicationError
from core.runs import one_run_at_a_time, run_alone
from distributions.models import Distribution, PaymentMethod
from distributions.selectors import bank_file_distributions_due, distributions_to_pay
from distributions.services.bank_file import distribution_pay_by_bank_file
from distributions.services.paying import distribution_pay_on_chain, distribution_registers_due_compute
from distributions.services.reinvesting import distribution_reinvest, distribution_reinvest_due
from tokens.services import CHAIN_TRANSIENT_ERRORS

log = logging.getLogger(__name__)

# What a run returns when another run of the same pass is still going (core.runs.run_alone): it does nothing.
IN_PROGRESS = "another run is in progress"

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
@one_run_at_a_time(lambda distribution_id: f"distributions.bank_payment_run:{distribution_id}", busy=IN_PROGRESS)
def bank_payment_run_task(distribution_id: int) -> str:
    # Tokens first, as for on-chain payment: a reinvesting line's cash goes into a file only once its units are
    # minted and recorded, or fell back to cash. Each beat's pass settles what was minted since and mints the rest.
    try:
        distribution_reinvest_due(distribution_id=distribution_id)
    except (*CHAIN_TRANSIENT_ERRORS, ApplicationError) as exc:
        # The chain is down (or the token gone): the file still pays every line not waiting for tokens, and the
        # next beat mints.
        log.warning("reinvestment of distribution %s not advanced: %s", distribution_id, exc)
    return distribution_pay_by_bank_file(distribution_id=distribution_id)


COMMON = {
    "acks_late": True,
    "autoretry_for": CHAIN_TRANSIENT_ERRORS,
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "max_retries": 5,
    "time_limit": 600,
    "soft_time_limit": 540,
    "ignore_result": True,
}

# payment method → the run that pays a distribution of it: called with `distribution_id`, safe to run again.
PAYERS: dict[str, Callable[..., object]] = {
    PaymentMethod.STABLECOIN: distribution_pay_on_chain,
}


@shared_task(name="distributions.tasks.distributions_advance_task", **{**COMMON, "max_retries": 0})
def distributions_advance_task() -> int:
    """Beat: compute the registers due, then queue a payment run for each distribution due for payment.

    While another run is still computing registers (one of many holders takes a while) this one leaves them to
    it and only queues the payment runs, which themselves run one at a time per distribution."""
    with run_alone("distributions.registers_due") as mine:
        if mine:
            distribution_registers_due_compute()
    due = distributions_to_pay(methods=list(PAYERS))
    for distribution_id in due:
        distribution_pay_task.delay(distribution_id)
    return len(due)


@shared_task(name="distributions.tasks.distribution_pay_task", **COMMON)
@one_run_at_a_time(lambda distribution_id: f"distributions.pay:{distribution_id}", busy=IN_PROGRESS)
def distribution_pay_task(distribution_id: int) -> str:
    method = Distribution.objects.filter(pk=distribution_id).values_list("payment_method", flat=True).first()
    payer = PAYERS.get(method or "")
    if payer is None:
        return "nothing pays this method"
    # Tokens first: a reinvesting line's cash is paid only once its units are minted or fell back to cash.
    distribution_reinvest_due(distribution_id=distribution_id)
    return str(payer(distribution_id=distribution_id))


@shared_task(
    name="distributions.tasks.distribution_reinvest_task",
    acks_late=True,
    autoretry_for=CHAIN_TRANSIENT_ERRORS,
    retry_backoff=2,
    retry_backoff_max=60,
    max_retries=5,
    time_limit=600,
    soft_time_limit=540,
    ignore_result=True,
)
@one_run_at_a_time(lambda distribution_id: f"distributions.reinvest:{distribution_id}", busy=-1)
def distribution_reinvest_task(distribution_id: int) -> int:
    """Mint what is due to reinvesting holders and settle what is minted; returns the lines still waiting.

    Safe to deliver twice: the lines are taken by their batch in the transaction that queues its mint. Returns -1,
    doing nothing, while another run of it for the distribution is still going."""
    distribution = Distribution.objects.get(pk=distribution_id)
    return distribution_reinvest(distribution=distribution).waiting
