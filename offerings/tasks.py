"""Offering tasks: thin, they take ids and call one service each."""

from __future__ import annotations

from celery import shared_task

from tokens.services import CHAIN_TRANSIENT_ERRORS

COMMON = {"acks_late": True, "time_limit": 600, "soft_time_limit": 540, "ignore_result": True}


@shared_task(name="offerings.tasks.closing_advance_task", autoretry_for=CHAIN_TRANSIENT_ERRORS, max_retries=5, **COMMON)
def closing_advance_task(offering_id: int) -> str:
    from offerings.services.closing import closing_advance

    return closing_advance(offering_id=offering_id)


@shared_task(name="offerings.tasks.closings_advance_task", max_retries=0, **COMMON)
def closings_advance_task() -> int:
    """Beat: carry on every closing (settles confirmed batches) and re-send refunds left requested."""
    from offerings.services.closing import closings_advance
    from offerings.services.payments import refunds_stale_send

    advanced = closings_advance()
    refunds_stale_send()
    return advanced


@shared_task(name="offerings.tasks.offerings_scheduled_task", max_retries=0, **COMMON)
def offerings_scheduled_task() -> int:
    """Beat: close offerings whose close date arrived; cancel Reg CF commitments not reconfirmed in time and
    reservations not paid in time."""
    from offerings.services.closing import offerings_close_due
    from offerings.services.subscriptions import subscriptions_expire_unpaid, subscriptions_lapsed_end

    subscriptions_lapsed_end()
    # Reservations not paid in time end, so the hard cap is not held by commitments nobody pays.
    subscriptions_expire_unpaid()
    return offerings_close_due()


@shared_task(
    name="offerings.tasks.refund_send_task",
    autoretry_for=(ConnectionError, TimeoutError),
    retry_backoff=5,
    max_retries=5,
    **COMMON,
)
def refund_send_task(refund_id: int) -> str:
    from offerings.services.payments import refund_send

    return refund_send(refund_id=refund_id).status


@shared_task(name="offerings.tasks.material_change_notify_task", max_retries=0, **COMMON)
def material_change_notify_task(document_id: int) -> int:
    from offerings.services.notifications import material_change_notify

    return material_change_notify(document_id=document_id)


@shared_task(name="offerings.tasks.closing_notify_task", max_retries=0, **COMMON)
def closing_notify_task(kind: str, offering_id: int, batch_id: int | None) -> int:
    from offerings.services.notifications import closing_notify

    return closing_notify(kind=kind, offering_id=offering_id, batch_id=batch_id)


@shared_task(name="offerings.tasks.stablecoin_receipts_match_task", max_retries=0, **COMMON)
def stablecoin_receipts_match_task() -> int:
    """Beat: credit stablecoin transfers the indexer has read into the receiving address."""
    from offerings.services.stablecoin import stablecoin_receipts_match

    return stablecoin_receipts_match()


@shared_task(name="offerings.tasks.refunds_pending_settle_task", max_retries=0, **COMMON)
def refunds_pending_settle_task() -> int:
    """Beat: book refunds the provider now reports succeeded (a confirmed stablecoin transfer)."""
    from offerings.services.payments import refunds_pending_settle

    return refunds_pending_settle()
