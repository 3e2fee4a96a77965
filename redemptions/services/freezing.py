"""Freezing requested units in batches: many holders' requests in one burner transaction, each request once.

A request is written without a transaction of its own; after commit it asks for a freeze run a moment later
(REDEMPTION_FREEZE_GATHER_SECONDS), so the requests of that moment share one batch, and the beat sends whatever
is left. A run locks the token's requests that no batch carries yet (rows another run holds are skipped), and
queues them through the redemption burner in one outbox transaction per REDEMPTION_FREEZE_BATCH_MAX_LINES,
linking each request to its batch in the same database transaction: a request is in one batch at a time. The
burner decides each request once, by its number (tokens/redemption.py), so a batch sent again freezes nothing
twice. Once a batch is final and its events are indexed, each of its requests is pending (frozen) or failed
with the token's reason; a batch that failed as a whole fails its requests with that reason.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from core.audit import audit_record
from redemptions.models import RedemptionRequest, RequestState
from redemptions.notices import redemption_requests_notify
from redemptions.services.wallets import wallets_under_action
from tokens.models import ChainTransaction, TxStatus
from tokens.selectors import redemption_burner, redemption_freeze_outcomes
from tokens.services import FreezeLine, failpoint, redemption_batch_freeze, redemption_burner_authorize

log = logging.getLogger(__name__)

AUDITED_REQUESTS = 200


def _freeze_key(offering_id: int, first_request: int, count: int) -> str:
    # One run per set of rows (the rows are locked and linked in the same transaction); a request re-sent after
    # a failed batch is never re-sent: it fails with the batch.
    return f"redemption:{settings.CHAIN_ID}:freeze:{offering_id}:{first_request}:{count}"


def redemption_freezes_soon(*, offering_id: int) -> None:
    """After commit: one freeze run for this token REDEMPTION_FREEZE_GATHER_SECONDS from now, unless one is due."""
    from core.tasks import task_enqueue_on_commit
    from redemptions.tasks import redemption_freezes_send_task

    gather = float(settings.REDEMPTION_FREEZE_GATHER_SECONDS)

    def enqueue() -> None:
        try:
            # The first request of the moment schedules the run; the others committed before it reads them.
            due = not cache.add(f"redemption-freeze-run:{offering_id}", 1, timeout=max(gather, 0.001))
        except Exception:  # noqa: BLE001 - no cache: each request asks for its own run, which finds little
            log.warning("cache unavailable; a freeze run per request")
            due = False
        if due:
            return
        try:
            redemption_freezes_send_task.apply_async((offering_id,), countdown=gather)
        except Exception:  # noqa: BLE001 - the request is committed; the beat's next run freezes it
            log.warning("could not queue the freeze run of offering %s; the beat sends it", offering_id)

    if gather <= 0:
        task_enqueue_on_commit(redemption_freezes_send_task, offering_id, when_broker_down="the beat sends it")
        return
    transaction.on_commit(enqueue)


def _unbatched(offering_id: int | None = None) -> QuerySet[RedemptionRequest]:
    rows = RedemptionRequest.objects.filter(state=RequestState.FREEZING, freeze_transaction__isnull=True)
    return rows.filter(offering_id=offering_id) if offering_id is not None else rows


def redemption_freezes_send(*, offering_id: int | None = None) -> int:
    """Queue the freeze of every request no batch carries yet (of one token, or all); returns how many."""
    offerings = sorted(set(_unbatched(offering_id).values_list("offering_id", flat=True)))
    sent = 0
    for pk in offerings:
        sent += _send_for(pk)
    return sent


def _send_for(offering_id: int) -> int:
    first = _unbatched(offering_id).select_related("offering").first()
    if first is None:
        return 0
    owner_ref = first.offering.owner_ref
    readiness = redemption_burner_authorize(owner_ref=owner_ref)
    if not readiness.ready:
        return 0  # the beat sends them once the burner may freeze this token
    with transaction.atomic():
        rows = list(
            _unbatched(offering_id)
            .select_for_update(of=("self",), skip_locked=True)
            # A wallet the issuer is acting on is frozen in once the action is on the ledger (a recovery's new one).
            .exclude(wallet__in=wallets_under_action(offering=first.offering))
            .order_by("pk")
            .values_list("pk", "wallet", "quantity")
        )
        if not rows:
            return 0
        txs = redemption_batch_freeze(
            key=_freeze_key(offering_id, rows[0][0], len(rows)),
            owner_ref=owner_ref,
            lines=[FreezeLine(request=pk, holder=wallet, amount=quantity) for pk, wallet, quantity in rows],
        )
        size = max(1, int(settings.REDEMPTION_FREEZE_BATCH_MAX_LINES))
        for number, tx in enumerate(txs):
            chunk = [pk for pk, _, _ in rows[number * size : (number + 1) * size]]
            RedemptionRequest.objects.filter(pk__in=chunk, freeze_transaction__isnull=True).update(
                freeze_transaction=tx
            )
            audit_record(
                actor="redemptions",
                action="redemption.freezes_sent",
                obj=tx,
                issuer=first.offering.issuer,
                after={"requests": chunk[:AUDITED_REQUESTS], "count": len(chunk)},
            )
        failpoint("redemption_freezes_queued")  # crash tests: the worker dies before this run commits
    return len(rows)


# --------------------------------------------------------------------------- following the batches


def _failure(tx: ChainTransaction) -> str:
    return tx.last_error or tx.error_name or "the transaction did not go through"


def redemption_freezes_advance() -> int:
    """Requests of final or failed freeze batches become pending or failed; returns how many moved."""
    done = (TxStatus.CONFIRMED, TxStatus.FAILED)
    batches = set(
        RedemptionRequest.objects.filter(state=RequestState.FREEZING, freeze_transaction__status__in=done).values_list(
            "freeze_transaction_id", flat=True
        )
    )
    moved = 0
    for tx_id in sorted(batches):
        moved += _advance_batch(tx_id)
    return moved


def _advance_batch(tx_id: int) -> int:
    tx = ChainTransaction.objects.get(pk=tx_id)
    outcomes = None
    burner = redemption_burner()
    by_burner = burner is not None and bool(burner.address) and tx.to_address == burner.address
    first = RedemptionRequest.objects.filter(freeze_transaction_id=tx_id).select_related("offering").first()
    if first is None:
        return 0
    token_address = ""
    if tx.status == TxStatus.CONFIRMED and by_burner:
        from tokens.selectors import token_deployment

        token = token_deployment(owner_ref=first.offering.owner_ref)
        token_address = token.address if token is not None else ""
        outcomes = redemption_freeze_outcomes(token_address=token_address, tx_hashes=[tx.tx_hash or ""])
        if outcomes is None:
            return 0  # final, not indexed yet: the next run reads its events
    now = timezone.now()
    with transaction.atomic():
        locked = list(
            RedemptionRequest.objects.select_for_update(of=("self",))
            .filter(freeze_transaction_id=tx_id, state=RequestState.FREEZING)
            .select_related("offering__issuer")
            .order_by("pk")
        )
        changed: dict[str, list[RedemptionRequest]] = defaultdict(list)
        for request in locked:
            if tx.status == TxStatus.FAILED:
                request.state = RequestState.FAILED
                request.failure_reason = f"The units could not be frozen: {_failure(tx)}"
            elif outcomes is None:  # a freeze of the token's own (before batches): confirmed is frozen
                request.state, request.frozen_at = RequestState.PENDING, now
            else:
                outcome = outcomes.get(request.pk)
                if outcome is None:
                    continue  # not in this batch's events: left for a person to look at (never guessed)
                if outcome.frozen:
                    request.state, request.frozen_at = RequestState.PENDING, now
                else:
                    request.state = RequestState.FAILED
                    request.failure_reason = f"The units could not be frozen: {outcome.reason}"
            changed[request.state].append(request)
        for state, requests in changed.items():
            RedemptionRequest.objects.bulk_update(requests, ["state", "frozen_at", "failure_reason"])
            audit_record(
                actor="redemptions",
                action="redemption.requests_frozen" if state == RequestState.PENDING else "redemption.freezes_failed",
                obj=tx,
                issuer=first.offering.issuer,
                before={"state": RequestState.FREEZING},
                after={
                    "state": state,
                    "requests": [r.pk for r in requests][:AUDITED_REQUESTS],
                    "count": len(requests),
                    "reasons": sorted({r.failure_reason[:200] for r in requests if r.failure_reason})[:10],
                },
            )
        moved = [r for requests in changed.values() for r in requests]
        redemption_requests_notify(requests=moved)
    return len(moved)
