"""An approved reserve statement published to the token's on-chain reserve feed (tokens' `ReserveFeed`, which
its reserve-guarded minter consults), so the chain refuses what the attestation does not back as well.

The approving transaction only queues a task (after commit); the task reads the feed's decimal places and the
chain's clock, then writes one outbox row under the statement's own key, so asking twice publishes once. The
daily check asks again for the current statement, so a publication lost with the broker is made the next day.
A token without a feed has nothing to publish to: only the portal's check guards its mints.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction

from backing.models import ReserveStatement, StatementState
from core.tasks import task_enqueue_on_commit
from tokens.selectors import chain_head_time, chain_transaction_by_key, reserve_feed_decimals, reserve_feed_of
from tokens.services import reserve_feed_publish

log = logging.getLogger(__name__)


def publication_key(statement: ReserveStatement) -> str:
    return f"backing:reserve-statement:{statement.pk}"


def reserve_statements_unpublished() -> list[int]:
    """Current statements of tokens that have a feed and whose publication was never queued (the daily
    check's catch-up for a publication lost with the broker)."""
    keyed = {
        statement.pk: publication_key(statement)
        for statement in ReserveStatement.objects.filter(state=StatementState.APPROVED).select_related("offering")
        if reserve_feed_of(statement.offering.owner_ref) is not None
    }
    return [pk for pk, key in keyed.items() if chain_transaction_by_key(idempotency_key=key) is None]


def reserve_statement_published(*, statement: ReserveStatement) -> None:
    """Called in the approving transaction: publish the statement once it has committed."""
    from backing.tasks import reserve_statement_publish_task

    task_enqueue_on_commit(
        reserve_statement_publish_task, statement.pk, when_broker_down="the next daily check publishes it"
    )


def feed_reserve(*, total_amount: int, unit_scale: int, feed_decimals: int) -> int:
    """The statement's total in the feed's base units: exact when the feed counts as finely or finer; rounded
    down when it counts more coarsely (a feed never reports more than was attested)."""
    if feed_decimals >= unit_scale:
        return total_amount * 10 ** (feed_decimals - unit_scale)
    return total_amount // 10 ** (unit_scale - feed_decimals)


def _as_of_moment(statement: ReserveStatement) -> dt.datetime:
    """The end of the statement's as-of day, or the chain's present if that is still ahead of it."""
    end_of_day = dt.datetime.combine(statement.as_of, dt.time(23, 59, 59), tzinfo=dt.UTC)
    return min(end_of_day, chain_head_time())


@transaction.atomic
def reserve_statement_publish(*, statement_id: int) -> str:
    """Queue the current statement's total for the token's reserve feed; a superseded statement is not sent.

    Returns what happened, in a word (for the task's log). Raises the chain's transient errors when the node
    cannot be read, so the task tries again."""
    statement = ReserveStatement.objects.select_related("offering", "approved_by").get(pk=statement_id)
    if statement.state != StatementState.APPROVED:
        return "not_current"
    owner_ref = statement.offering.owner_ref
    feed = reserve_feed_of(owner_ref)
    if feed is None or not feed.address:
        return "no_feed"
    key = publication_key(statement)
    if chain_transaction_by_key(idempotency_key=key) is not None:
        return "queued_before"
    decimals = reserve_feed_decimals(owner_ref=owner_ref)
    if decimals is None:
        return "no_feed"
    reserve = feed_reserve(total_amount=statement.total_amount, unit_scale=statement.unit_scale, feed_decimals=decimals)
    reserve_feed_publish(
        owner_ref=owner_ref,
        reserve=reserve,
        as_of=_as_of_moment(statement),
        idempotency_key=key,
        actor=statement.approved_by,
    )
    log.info("reserve statement %s queued for the reserve feed of %s: %s", statement.pk, owner_ref, reserve)
    return "queued"
