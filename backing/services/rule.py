"""The backing rule of a token (how much reserve a unit needs, how old an attestation may be before mints
stop) changes only with four eyes: an admin proposes the new rule, a second admin of the issuer approves it,
and only then does it apply. Proposal, approval and decline are each audited.

The proposal carries the rule it would replace; an approval after the rule changed some other way is refused,
so nobody approves a change against figures they did not see.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.urls import reverse

from backing.models import BackingRule
from backing.quantities import UNIT_CODE, QuantityInvalid, ratio_parse, ratio_text, scale_check
from backing.services.reserve_guard import reserve_guard_requested
from backing.transparency import transparency_forget
from core.approvals import ApprovalKind, approval_kind_register, approval_propose
from core.audit import audit_record
from core.errors import ApplicationError, Conflict
from core.models import ApprovalRequest, ApprovalState, User
from offerings.models import Offering

BACKING_RULE_APPROVAL_KIND = "backing.rule_change"
MAX_STALENESS_DAYS = 3660


def _rule_state(rule: BackingRule | None) -> dict[str, Any] | None:
    if rule is None:
        return None
    return {
        "unit_code": rule.unit_code,
        "unit_scale": rule.unit_scale,
        "numerator": rule.reserve_per_token_numerator,
        "denominator": rule.reserve_per_token_denominator,
        "staleness_days": rule.staleness_days,
    }


def rule_text(state: dict[str, Any] | None) -> str:
    """A rule's figures in words, for the approval's summary and the pages."""
    if state is None:
        return "no rule (mints not limited by reserves)"
    per = ratio_text(numerator=state["numerator"], denominator=state["denominator"], scale=state["unit_scale"])
    return (
        f"{per} {state['unit_code']} per token, counted to {state['unit_scale']} places, "
        f"attestations at most {state['staleness_days']} days old"
    )


def _object_key(offering: Offering) -> tuple[str, str]:
    return ("backing.backingrule", str(offering.pk))


def backing_rule_change_pending(*, offering: Offering) -> ApprovalRequest | None:
    """The change of the token's rule waiting for a second admin, if any."""
    object_type, object_id = _object_key(offering)
    return (
        ApprovalRequest.objects.filter(
            kind=BACKING_RULE_APPROVAL_KIND,
            object_type=object_type,
            object_id=object_id,
            state=ApprovalState.PENDING,
        )
        .select_related("proposed_by")
        .first()
    )


def _checked(*, unit_code: str, unit_scale: int, reserve_per_token: str, staleness_days: int) -> dict[str, Any]:
    unit_code = (unit_code or "").strip()
    if not UNIT_CODE.fullmatch(unit_code):
        raise ApplicationError(
            "Name the reserve's unit: a currency code such as USD, or a unit such as g or oz.", code="unit"
        )
    try:
        scale = scale_check(unit_scale)
        numerator, denominator = ratio_parse(reserve_per_token, scale=scale)
    except QuantityInvalid as exc:
        raise ApplicationError(exc.message, code="invalid_ratio") from exc
    if (
        isinstance(staleness_days, bool)
        or not isinstance(staleness_days, int)
        or not 1 <= staleness_days <= MAX_STALENESS_DAYS
    ):
        raise ApplicationError(
            f"The staleness limit is a whole number of days from 1 to {MAX_STALENESS_DAYS}.", code="staleness"
        )
    return {
        "unit_code": unit_code,
        "unit_scale": scale,
        "numerator": numerator,
        "denominator": denominator,
        "staleness_days": staleness_days,
    }


@transaction.atomic
def backing_rule_propose(
    *, offering: Offering, unit_code: str, unit_scale: int, reserve_per_token: str, staleness_days: int, actor: User
) -> ApprovalRequest:
    """Propose the token's rule (reserve per token typed in the unit: "1.00", "1/3"; the staleness limit in
    days). Nothing changes until another admin of the issuer approves it."""
    Offering.objects.select_for_update().only("pk").get(pk=offering.pk)
    proposed = _checked(
        unit_code=unit_code, unit_scale=unit_scale, reserve_per_token=reserve_per_token, staleness_days=staleness_days
    )
    current = _rule_state(BackingRule.objects.filter(offering=offering).first())
    if proposed == current:
        raise ApplicationError("This is the rule already in force; nothing to change.", code="unchanged")
    if backing_rule_change_pending(offering=offering) is not None:
        raise Conflict(
            "A change of this token's backing rule is already waiting for a second admin; approve, decline or "
            "withdraw it first.",
            code="approval_pending",
        )
    outcome = approval_propose(
        issuer=offering.issuer,
        kind=BACKING_RULE_APPROVAL_KIND,
        proposer=actor,
        summary=f"{offering.token_symbol}: backing rule from {rule_text(current)} to {rule_text(proposed)}",
        amount_minor=0,
        currency="",
        payload={
            "offering_id": offering.pk,
            "proposed": proposed,
            "current": current,
            "detail_url": reverse("backing_rule_edit", args=[offering.issuer.slug, offering.public_id]),
        },
        object_key=_object_key(offering),
        required=True,
    )
    assert outcome.request is not None
    audit_record(
        actor=actor,
        action="backing.rule_change_proposed",
        obj=outcome.request,
        issuer=offering.issuer,
        before=current,
        after=proposed,
    )
    return outcome.request


def _apply(request: ApprovalRequest, actor: User) -> BackingRule:
    offering = Offering.objects.select_for_update().select_related("issuer").get(pk=request.payload["offering_id"])
    rule = BackingRule.objects.select_for_update().filter(offering=offering).first()
    before = _rule_state(rule)
    if before != request.payload["current"]:
        raise Conflict(
            "The backing rule changed after this was proposed, so it no longer says what it would replace. "
            "Decline it and propose the change again.",
            code="rule_changed",
        )
    proposed = request.payload["proposed"]
    rule = rule or BackingRule(offering=offering)
    rule.unit_code, rule.unit_scale = proposed["unit_code"], int(proposed["unit_scale"])
    rule.reserve_per_token_numerator = int(proposed["numerator"])
    rule.reserve_per_token_denominator = int(proposed["denominator"])
    rule.staleness_days = int(proposed["staleness_days"])
    rule.updated_by = actor
    rule.save()
    audit_record(
        actor=actor,
        action="backing.rule_changed",
        obj=rule,
        issuer=offering.issuer,
        before=before,
        after={**(_rule_state(rule) or {}), "proposed_by": request.proposed_by_id, "approved_by": actor.pk},
    )
    transparency_forget(offering=offering)
    reserve_guard_requested()
    return rule


def _declined(request: ApprovalRequest, actor: User) -> None:
    audit_record(
        actor=actor,
        action="backing.rule_change_declined",
        obj=request,
        issuer=request.issuer,
        before=request.payload.get("current"),
        after={"state": request.state, "note": request.decision_note},
    )


approval_kind_register(
    ApprovalKind(
        kind=BACKING_RULE_APPROVAL_KIND,
        label="Change a token's backing rule",
        perform=_apply,
        on_decline=_declined,
    )
)
