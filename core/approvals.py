"""Four eyes on money: a person of the issuer proposes, a second person approves, then the action runs.

One mechanism for every kind of action that moves money by hand (a wire recorded by hand, a refund
marked sent, an unfreeze after a chargeback). An app registers each kind once with the function
that performs it (`approval_kind_register`); `approval_propose` runs the action at once when the
amount is at or under the issuer's threshold, and otherwise stores a pending request;
`approval_approve` runs it in the approver's name, in the same transaction as the approval.

Lock, then check: the request row is locked before its state and its proposer are read, so two
approvers clicking at once run the action once, and the proposer never approves their own request
(the database refuses that too).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from core.audit import audit_record
from core.errors import ApplicationError, Conflict, NotPermitted
from core.models import ApprovalRequest, ApprovalState, Issuer, User
from core.money import dollars_text


@dataclass(frozen=True)
class ApprovalKind:
    kind: str
    label: str
    # Runs the action inside the approving transaction; the actor is the approver (or the proposer
    # when no approval is needed). Raises ApplicationError when a rule says no.
    perform: Callable[[ApprovalRequest, User], Any]
    # Runs inside the rejecting (or withdrawing) transaction, for kinds whose object waits in a state of
    # its own while the request is pending (a distribution "waiting for approval" goes back to draft).
    on_decline: Callable[[ApprovalRequest, User], Any] | None = None


_KINDS: dict[str, ApprovalKind] = {}


def approval_kind_register(kind: ApprovalKind) -> None:
    _KINDS[kind.kind] = kind


def approval_kind(kind: str) -> ApprovalKind:
    try:
        return _KINDS[kind]
    except KeyError as exc:
        raise ApplicationError(f"Nothing knows how to carry out “{kind}”.", code="unknown_kind") from exc


@dataclass(frozen=True)
class ApprovalOutcome:
    """Either the action ran (`result`), or it waits for a second person (`request`)."""

    request: ApprovalRequest | None
    result: Any = None

    @property
    def pending(self) -> bool:
        return self.request is not None and self.request.state == ApprovalState.PENDING


def approval_needed(*, issuer: Issuer, amount_minor: int) -> bool:
    threshold = issuer.four_eyes_threshold_minor
    return threshold == 0 or amount_minor > threshold


def _state(request: ApprovalRequest) -> dict[str, Any]:
    return {
        "kind": request.kind,
        "state": request.state,
        "amount_minor": request.amount_minor,
        "currency": request.currency,
        "object": f"{request.object_type}:{request.object_id}" if request.object_id else "",
    }


@transaction.atomic
def approval_propose(
    *,
    issuer: Issuer,
    kind: str,
    proposer: User,
    summary: str,
    amount_minor: int,
    currency: str,
    payload: dict[str, Any],
    obj: models.Model | None = None,
    object_key: tuple[str, str] | None = None,
    required: bool | None = None,
) -> ApprovalOutcome:
    """Run the action now if the amount is within the issuer's threshold, else wait for a second person.
    `required` overrides the threshold (True: always ask, False: never). The request is about `obj`, or
    about `object_key` (type, id) when the thing does not exist yet; one pending request per object."""
    handler = approval_kind(kind)
    issuer = Issuer.objects.get(pk=issuer.pk)  # the threshold as it is now, not as the caller loaded it
    request = ApprovalRequest(
        issuer=issuer,
        kind=kind,
        object_type=obj._meta.label_lower if obj is not None else (object_key or ("", ""))[0],
        object_id=str(obj.pk) if obj is not None else (object_key or ("", ""))[1],
        summary=summary[:300],
        amount_minor=amount_minor,
        currency=currency,
        payload=payload,
        proposed_by=proposer,
    )
    needed = approval_needed(issuer=issuer, amount_minor=amount_minor) if required is None else required
    if not needed:
        return ApprovalOutcome(request=None, result=handler.perform(request, proposer))
    try:
        with transaction.atomic():
            request.save()
    except IntegrityError as exc:
        raise Conflict(
            "This is already waiting for approval; see the approvals page.", code="approval_pending"
        ) from exc
    audit_record(actor=proposer, action="approval.proposed", obj=request, issuer=issuer, after=_state(request))
    _approvers_notify(request)
    return ApprovalOutcome(request=request)


def _approvers_notify(request: ApprovalRequest) -> None:
    """The issuer's other admins hear that something waits for their approval."""
    from django.urls import reverse

    from core.models import NotificationKind
    from core.notifications import Message, issuer_people, notify

    notify(
        recipients=issuer_people(request.issuer).exclude(pk=request.proposed_by_id),
        event_key=f"approval:{request.pk}:proposed",
        message=Message(
            kind=NotificationKind.APPROVAL_WAITING,
            subject=f"Waiting for your approval: {request.summary}"[:200],
            template="core/notifications/approval_waiting.txt",
            context={"request": request, "proposer": request.proposed_by},
            path=reverse("issuer_approvals", args=[request.issuer.slug]),
            action_label="Approve or reject",
        ),
        issuer=request.issuer,
    )


def _locked_pending(request: ApprovalRequest) -> ApprovalRequest:
    locked = (
        ApprovalRequest.objects.select_for_update(of=("self",))
        .select_related("issuer", "proposed_by", "decided_by")
        .get(pk=request.pk)
    )
    if locked.state != ApprovalState.PENDING:
        who = f" by {locked.decided_by.email}" if locked.decided_by else ""
        raise Conflict(f"This request was already {locked.get_state_display().lower()}{who}.", code="decided")
    return locked


@transaction.atomic
def approval_approve(*, request: ApprovalRequest, actor: User) -> ApprovalOutcome:
    """A second person approves: the action runs in their name, in this transaction."""
    locked = _locked_pending(request)
    if locked.proposed_by_id == actor.pk:
        raise NotPermitted("You proposed this, so another admin of the issuer must approve it.", code="four_eyes")
    result = approval_kind(locked.kind).perform(locked, actor)
    locked.state, locked.decided_by, locked.decided_at = ApprovalState.APPROVED, actor, timezone.now()
    locked.save(update_fields=["state", "decided_by", "decided_at"])
    audit_record(
        actor=actor,
        action="approval.approved",
        obj=locked,
        issuer=locked.issuer,
        before={"state": ApprovalState.PENDING},
        after={**_state(locked), "proposed_by": locked.proposed_by_id},
    )
    return ApprovalOutcome(request=locked, result=result)


@transaction.atomic
def approval_reject(*, request: ApprovalRequest, actor: User, note: str = "") -> ApprovalRequest:
    """A second person says no (nothing runs); the proposer may withdraw their own request."""
    locked = _locked_pending(request)
    own = locked.proposed_by_id == actor.pk
    if not own and not note.strip():
        raise ApplicationError("Say why you reject it; the proposer reads it.", code="reason")
    locked.state = ApprovalState.WITHDRAWN if own else ApprovalState.REJECTED
    locked.decided_by = None if own else actor
    locked.decided_at, locked.decision_note = timezone.now(), note.strip()[:500]
    locked.save(update_fields=["state", "decided_by", "decided_at", "decision_note"])
    declined = approval_kind(locked.kind).on_decline
    if declined is not None:
        declined(locked, actor)
    audit_record(
        actor=actor,
        action="approval.withdrawn" if own else "approval.rejected",
        obj=locked,
        issuer=locked.issuer,
        before={"state": ApprovalState.PENDING},
        after=_state(locked),
    )
    return locked


# --------------------------------------------------------------------------- the threshold itself

FOUR_EYES_THRESHOLD = "issuer.four_eyes_threshold"


def _stricter_or_same(new: int, current: int) -> bool:
    """0 (always) is the strictest; otherwise a lower threshold asks for a second person more often."""
    return new == 0 or (current != 0 and new <= current)


def _threshold_perform(request: ApprovalRequest, actor: User) -> Issuer:
    issuer = Issuer.objects.select_for_update().get(pk=request.issuer_id)
    before = issuer.four_eyes_threshold_minor
    issuer.four_eyes_threshold_minor = int(request.payload["threshold_minor"])
    issuer.save(update_fields=["four_eyes_threshold_minor"])
    audit_record(
        actor=actor,
        action="issuer.four_eyes_threshold_changed",
        obj=issuer,
        before={"four_eyes_threshold_minor": before},
        after={"four_eyes_threshold_minor": issuer.four_eyes_threshold_minor},
    )
    return issuer


approval_kind_register(
    ApprovalKind(kind=FOUR_EYES_THRESHOLD, label="Change the four-eyes threshold", perform=_threshold_perform)
)


def four_eyes_threshold_propose(*, issuer: Issuer, actor: User, threshold_minor: int) -> ApprovalOutcome:
    """A stricter threshold applies at once; a looser one needs a second admin, or one person could
    lift four eyes for themselves."""
    if threshold_minor < 0:
        raise ApplicationError("The threshold cannot be negative; 0 means always.", code="invalid_threshold")
    current = Issuer.objects.get(pk=issuer.pk).four_eyes_threshold_minor
    return approval_propose(
        issuer=issuer,
        kind=FOUR_EYES_THRESHOLD,
        proposer=actor,
        summary=(
            f"Change the four-eyes threshold from {dollars_text(current)} to {dollars_text(threshold_minor)} "
            "(0: every amount)"
        ),
        amount_minor=0,
        currency="",
        payload={"threshold_minor": threshold_minor},
        obj=issuer,
        required=not _stricter_or_same(threshold_minor, current),
    )
