"""The audit chain: every state change writes an event in the same transaction as the change.

What enters the chain: who acted, the object's type and id, states and field changes. Never
personal data (names, incomes, dates of birth, tax ids, addresses): a model whose `str()` names a
person defines `audit_label()` (a label by id), and people acting as investors are labelled by
their user id, so a person's data can be erased where law requires while the chain still verifies.

Lock order, for every service: row locks first, in the order issuer, offering, subscription,
payment, refund, then other rows (each kind in primary-key order), and the audit chain head last.
The first `audit_record` of a transaction locks the head until commit, so a service takes every
row lock it needs before it writes its first event; taken the other way round, two services could
each hold what the other waits for (a deadlock on PostgreSQL).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone

from core.middleware import current_request_id
from core.models import AuditChainHead, AuditEvent, Issuer, User

# Who made a change: a signed-in user, a named part of the portal ("kyc vendor", "stablecoin"), or None (the system).
Actor = User | str | None

GENESIS_HASH = "0" * 64


def _canonical_json(value: Any) -> Any:
    """Round-trip through JSON so the stored value and the hashed value are the same."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True))


def event_digest(*, prev_hash: str, content: dict[str, Any]) -> str:
    payload = json.dumps({"prev": prev_hash, **content}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def _content_of(event: AuditEvent) -> dict[str, Any]:
    return {
        "occurred_at": event.occurred_at.isoformat(timespec="microseconds"),
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "object_label": event.object_label,
        "issuer_id": event.issuer_id,
        "before": event.before,
        "after": event.after,
        "request_id": event.request_id,
    }


def audit_object_label(obj: models.Model) -> str:
    """How an object is named in the chain: its `audit_label()` when the model has one, else `str()`."""
    label = getattr(obj, "audit_label", None)
    return str(label() if callable(label) else obj)[:200]


def audit_actor_label(actor: Actor | AnonymousUser) -> str:
    if isinstance(actor, User) and actor.is_authenticated:
        return actor.audit_label()[:254]
    return (str(actor) if actor else "system")[:254]


def _issuer_id_of(obj: Any, issuer: Issuer | None) -> int | None:
    if issuer is not None:
        return issuer.pk
    if isinstance(obj, Issuer):
        return obj.pk
    return getattr(obj, "issuer_id", None)


def audit_record(
    *,
    actor: Actor | AnonymousUser,  # pages pass request.user
    action: str,
    obj: models.Model | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    issuer: Issuer | None = None,
) -> AuditEvent:
    """Append one event to the chain. Call it inside the transaction that makes the change."""
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1, defaults={"last_hash": GENESIS_HASH})
        user = actor if isinstance(actor, User) and actor.is_authenticated else None
        event = AuditEvent(
            occurred_at=timezone.now(),
            actor_id=user.pk if user else None,
            actor_label=audit_actor_label(actor),
            action=action,
            object_type=obj._meta.label_lower if obj is not None else "",
            object_id=str(obj.pk) if obj is not None else "",
            object_label=audit_object_label(obj) if obj is not None else "",
            issuer_id=_issuer_id_of(obj, issuer),
            before=_canonical_json(before) if before is not None else None,
            after=_canonical_json(after) if after is not None else None,
            request_id=current_request_id(),
            prev_hash=head.last_hash,
        )
        event.hash = event_digest(prev_hash=head.last_hash, content=_content_of(event))
        event.save()
        AuditChainHead.objects.filter(pk=head.pk).update(
            last_hash=event.hash, last_event_id=event.pk, length=models.F("length") + 1
        )
    return event


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    broken_event_id: int | None = None
    reason: str = ""


def audit_chain_verify(*, events: Iterable[AuditEvent] | None = None) -> ChainReport:
    """Recompute every link in order and report the first row that does not match."""
    rows = events if events is not None else AuditEvent.objects.order_by("id").iterator(chunk_size=2000)
    expected_prev = GENESIS_HASH
    checked = 0
    last: AuditEvent | None = None
    for event in rows:
        if event.prev_hash != expected_prev:
            return ChainReport(False, checked, event.pk, "previous-hash link does not match the row before it")
        if event_digest(prev_hash=event.prev_hash, content=_content_of(event)) != event.hash:
            return ChainReport(False, checked, event.pk, "content does not match its stored hash")
        expected_prev = event.hash
        checked += 1
        last = event
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and (head.last_hash != expected_prev or head.length != checked):
        return ChainReport(
            False, checked, last.pk if last else None, "the chain head does not match the last row (rows removed?)"
        )
    if head is None and checked:
        return ChainReport(False, checked, None, "the chain head is missing")
    return ChainReport(True, checked)
