"""The backing rule on-chain: every token with a backing rule gets a reserve feed and a reserve-guarded minter
(tokens' `reserve_guard_ensure`), the minter set to the rule in force and made the token's only minter, and the
current statement published to the feed. Nobody has to run a command for it.

A beat sweep takes each such token one step further each time (a step waits for the one before to be signed or
confirmed), and a rule just approved asks for a sweep at once. Each step is one outbox row under its
own key, so a sweep run twice, or killed half-way, queues nothing twice. A new rule (its `updated_at` changed) is
set on the minter once; the portal's own check (backing.guard) refuses what the rule does not allow meanwhile.
"""

from __future__ import annotations

import logging

from backing.models import BackingRule
from backing.selectors import reserve_statement_current
from backing.services.publication import reserve_statement_publish
from core.errors import ApplicationError
from core.runs import one_run_at_a_time
from core.tasks import task_enqueue_on_commit
from offerings.models import Offering
from tokens.models import TxStatus
from tokens.selectors import reserve_feed_of
from tokens.services import CHAIN_TRANSIENT_ERRORS, GuardReadiness, reserve_guard_ensure

log = logging.getLogger(__name__)
DAY_SECONDS = 86_400


def guard_rule_key(rule: BackingRule) -> str:
    """The key the rule's figures are set on the minter under: a rule saved again is set again, once."""
    return f"backing:rule:{rule.offering_id}:{int(rule.updated_at.timestamp() * 1_000_000)}"


def reserve_guard_sync(*, offering_id: int) -> GuardReadiness | None:
    """Take the token's on-chain guard one step further and publish its current statement once the feed is there;
    None for a token without a backing rule. Raises the chain's transient errors when the node is down."""
    offering = Offering.objects.get(pk=offering_id)
    rule = BackingRule.objects.filter(offering=offering).first()
    if rule is None:
        return None
    readiness = reserve_guard_ensure(
        owner_ref=offering.owner_ref,
        reserve_per_unit=(rule.reserve_per_token_numerator, rule.reserve_per_token_denominator),
        scale=rule.unit_scale,
        staleness_seconds=rule.staleness_days * DAY_SECONDS,
        rule_key=guard_rule_key(rule),
        description=f"{offering.token_symbol} reserves ({rule.unit_code}, {rule.unit_scale} places)"[:100],
    )
    feed = reserve_feed_of(offering.owner_ref)
    deployed = feed is not None and feed.deploy_transaction is not None
    if deployed and feed.deploy_transaction.status == TxStatus.CONFIRMED:  # type: ignore[union-attr]
        statement = reserve_statement_current(offering=offering)
        if statement is not None:
            reserve_statement_publish(statement_id=statement.pk)
    return readiness


@one_run_at_a_time(lambda: "backing.reserve_guards_sync", busy=-1)
def reserve_guards_sync() -> int:
    """The beat's sweep: every token with a backing rule, each in its own transaction; returns how many are ready.

    A token stuck on a failed transaction is logged and the others go on; a node that is down ends the sweep (the
    next one tries again). A sweep that finds another one going returns -1 at once."""
    ready = 0
    for offering_id in BackingRule.objects.order_by("offering_id").values_list("offering_id", flat=True):
        try:
            readiness = reserve_guard_sync(offering_id=offering_id)
        except CHAIN_TRANSIENT_ERRORS as exc:
            log.warning("reserve guards: the chain cannot be read (%s); the next sweep goes on", exc)
            break
        except ApplicationError as exc:
            log.warning("reserve guard of offering %s: %s", offering_id, exc.message)
            continue
        if readiness is None:
            continue
        if readiness.ready:
            ready += 1
        elif readiness.problem:
            log.warning("reserve guard of offering %s is stuck: %s", offering_id, readiness.problem)
    return ready


def reserve_guard_requested() -> None:
    """Called in the transaction that changes a token's rule: sweep the guards once that has committed."""
    from backing.tasks import reserve_guards_sync_task

    task_enqueue_on_commit(reserve_guards_sync_task, when_broker_down="the beat's next sweep sets it up")
