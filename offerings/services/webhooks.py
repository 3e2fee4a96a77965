"""Provider events: stored before they are applied, applied once, never lost.

A provider's webhook stores the event (`webhook_event_store`) and only then answers 2xx; applying
it (`webhook_event_apply`) runs in its own transaction, and an event that cannot be applied (a
service error, a currency or amount that does not match) is kept flagged with the reason for a
person to review. An event about a payment the portal does not know yet waits, and is applied
when that payment appears (`webhook_events_release`). Only the same event id is a duplicate.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.audit import audit_record
from core.errors import ApplicationError, Conflict
from core.models import Issuer, User
from offerings.models import WebhookEvent, WebhookState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EventOutcome:
    """What applying an event did. `releases` names payments that now exist, so events waiting for them run."""

    text: str
    state: str = WebhookState.APPLIED
    reason: str = ""
    waiting_for: str = ""
    issuer: Issuer | None = None
    releases: tuple[str, ...] = field(default=())


def applied(text: str, *, issuer: Issuer | None = None, releases: Iterable[str] = ()) -> EventOutcome:
    return EventOutcome(text=text, issuer=issuer, releases=tuple(k for k in releases if k))


def ignored(text: str) -> EventOutcome:
    return EventOutcome(text=f"ignored: {text}", state=WebhookState.IGNORED)


def waiting(key: str, text: str) -> EventOutcome:
    return EventOutcome(text=f"waiting: {text}", state=WebhookState.WAITING, waiting_for=key)


def flagged(reason: str, *, issuer: Issuer | None = None, releases: Iterable[str] = ()) -> EventOutcome:
    """Applied as far as it could be, and kept for a person: `reason` says what to look at."""
    return EventOutcome(
        text=f"flagged: {reason}"[:200],
        state=WebhookState.FLAGGED,
        reason=reason,
        issuer=issuer,
        releases=tuple(k for k in releases if k),
    )


def webhook_event_store(
    *, provider: str, event_id: str, event_type: str, created: dt.datetime | None, payload: dict[str, Any]
) -> tuple[WebhookEvent, bool]:
    """Store a verified event once. Returns the row and whether this delivery stored it."""
    try:
        with transaction.atomic():
            record = WebhookEvent.objects.create(
                provider=provider, event_id=event_id, event_type=event_type[:100], created=created, payload=payload
            )
    except IntegrityError:
        return WebhookEvent.objects.get(provider=provider, event_id=event_id), False
    return record, True


def webhook_event_apply(*, event: WebhookEvent, handler: Callable[[dict[str, Any]], EventOutcome]) -> EventOutcome:
    """Apply a stored event that is new or waiting. A failure rolls the change back and flags the event."""
    try:
        with transaction.atomic():
            record = WebhookEvent.objects.select_for_update().get(pk=event.pk)
            if record.state not in (WebhookState.RECEIVED, WebhookState.WAITING):
                return EventOutcome(text=f"duplicate: already {record.get_state_display().lower()}", state=record.state)
            outcome = handler(record.payload)
            record.state, record.outcome, record.reason = outcome.state, outcome.text[:200], outcome.reason
            record.waiting_for = outcome.waiting_for
            record.issuer = outcome.issuer or record.issuer
            record.applied_at = timezone.now() if outcome.state != WebhookState.WAITING else None
            record.save(update_fields=["state", "outcome", "reason", "waiting_for", "issuer", "applied_at"])
    except Exception as exc:  # a service error must not lose the event nor answer 500: keep it for review
        reason = exc.message if isinstance(exc, ApplicationError) else f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, ApplicationError):
            log.exception("webhook event %s could not be applied", event.event_id)
        WebhookEvent.objects.filter(pk=event.pk).update(
            state=WebhookState.FLAGGED, outcome=f"flagged: {reason}"[:200], reason=reason, waiting_for=""
        )
        return EventOutcome(text=f"flagged: {reason}"[:200], state=WebhookState.FLAGGED, reason=reason)
    for key in outcome.releases:
        webhook_events_release(provider=event.provider, key=key, handler=handler)
    return outcome


def webhook_events_release(
    *, provider: str, key: str, handler: Callable[[dict[str, Any]], EventOutcome]
) -> list[EventOutcome]:
    """Apply, in the order the provider created them, the events that waited for `key`."""
    rows = WebhookEvent.objects.filter(provider=provider, state=WebhookState.WAITING, waiting_for=key).order_by(
        "created", "pk"
    )
    return [webhook_event_apply(event=row, handler=handler) for row in rows]


@transaction.atomic
def webhook_event_resolve(*, event: WebhookEvent, actor: User, note: str) -> WebhookEvent:
    """A person looked at a flagged event and says what was done about it."""
    record = WebhookEvent.objects.select_for_update().get(pk=event.pk)
    if record.state != WebhookState.FLAGGED or record.resolved_at is not None:
        raise Conflict("Only a flagged event waiting for review can be marked reviewed.", code="not_flagged")
    note = note.strip()
    if not note:
        raise ApplicationError("Say in a line what was done about this event.", code="note_required")
    record.resolved_at, record.resolved_by, record.resolution_note = timezone.now(), actor, note[:1000]
    record.save(update_fields=["resolved_at", "resolved_by", "resolution_note"])
    audit_record(
        actor=actor,
        action="webhook.reviewed",
        obj=record,
        issuer=record.issuer,
        after={"event_id": record.event_id, "note": record.resolution_note},
    )
    return record
