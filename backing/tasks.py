"""Backing tasks: thin, they take ids and call one service each."""

from __future__ import annotations

from celery import shared_task

from tokens.services import CHAIN_TRANSIENT_ERRORS

COMMON = {"acks_late": True, "time_limit": 600, "soft_time_limit": 540, "ignore_result": True}


@shared_task(name="backing.tasks.backing_checks_task", max_retries=0, **COMMON)
def backing_checks_task() -> int:
    """Beat, daily: compare each guarded token's supply with its latest attested reserves."""
    from backing.services.checks import backing_checks_run

    return backing_checks_run()


@shared_task(
    name="backing.tasks.backing_alert_task",
    autoretry_for=(ConnectionError, TimeoutError),
    retry_backoff=30,
    max_retries=5,
    **COMMON,
)
def backing_alert_task(status_id: int) -> int:
    from backing.services.checks import backing_alert_send

    return backing_alert_send(status_id=status_id)


@shared_task(
    name="backing.tasks.reserve_statement_publish_task",
    autoretry_for=CHAIN_TRANSIENT_ERRORS,
    retry_backoff=30,
    max_retries=8,
    **COMMON,
)
def reserve_statement_publish_task(statement_id: int) -> str:
    """After an approval commits: queue the statement for the token's on-chain reserve feed (once per statement)."""
    from backing.services.publication import reserve_statement_publish

    return reserve_statement_publish(statement_id=statement_id)


@shared_task(
    name="backing.tasks.reserve_guards_sync_task",
    max_retries=0,
    **{**COMMON, "time_limit": 120, "soft_time_limit": 100},
)
def reserve_guards_sync_task() -> int:
    """Beat, often, and after a backing rule changes: take each token's on-chain reserve guard one step further."""
    from backing.services.reserve_guard import reserve_guards_sync

    return reserve_guards_sync()


@shared_task(
    name="backing.tasks.nav_oracles_read_task",
    autoretry_for=CHAIN_TRANSIENT_ERRORS,
    retry_backoff=30,
    max_retries=5,
    **COMMON,
)
def nav_oracles_read_task() -> int:
    """Beat: read each token's NAV oracle and record its new rounds as NAV points (once each)."""
    from backing.services.nav_oracle import nav_oracles_read

    return nav_oracles_read()


@shared_task(
    name="backing.tasks.nav_oracle_read_task",
    autoretry_for=CHAIN_TRANSIENT_ERRORS,
    retry_backoff=30,
    max_retries=5,
    **COMMON,
)
def nav_oracle_read_task(offering_id: int) -> int:
    """Once a token's oracle is named: read its latest round without waiting for the beat."""
    from backing.services.nav_oracle import nav_oracle_read

    return nav_oracle_read(offering_id=offering_id)
