"""Four eyes on a distribution: an admin asks for approval of the computed register, a second admin approves.

The one who declared the distribution never approves it, whoever asked for the approval (and the one
who asked never approves it either: core.approvals refuses that). For an on-chain payment the
treasury must hold the net total, when asking and again when approving.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from core.approvals import ApprovalKind, ApprovalOutcome, approval_kind_register, approval_propose
from core.audit import audit_record
from core.errors import ApplicationError, Conflict, NotPermitted
from core.models import ApprovalRequest, User
from core.money import Money
from distributions.models import Distribution, DistributionState
from distributions.selectors import treasury_check
from tokens.services import CHAIN_TRANSIENT_ERRORS

DISTRIBUTION_APPROVE = "distribution.approve"


def _treasury_refuse_if_short(distribution: Distribution) -> None:
    try:
        check = treasury_check(distribution=distribution)
    except CHAIN_TRANSIENT_ERRORS as exc:
        raise ApplicationError(
            "The treasury's balance cannot be read: the chain cannot be reached just now. Try again shortly.",
            code="chain_down",
        ) from exc
    if check is None or check.enough:
        return
    if check.balance_minor is None:
        raise ApplicationError("No stablecoin is set up, so nothing can be paid on-chain.", code="no_stablecoin")
    currency = distribution.currency
    raise ApplicationError(
        f"The treasury {check.wallet} holds {Money(check.balance_minor, currency)}, short of the net total "
        f"{Money(check.needed_minor, currency)} by {Money(check.short_by, currency)}. Fund it before the "
        "distribution is approved.",
        code="treasury_short",
    )


def _locked(distribution_pk: int) -> Distribution:
    return (
        Distribution.objects.select_for_update(of=("self",))
        .select_related("offering__issuer", "declared_by")
        .get(pk=distribution_pk)
    )


@transaction.atomic
def distribution_propose(*, distribution: Distribution, actor: User) -> ApprovalOutcome:
    """Ask a second admin to approve the computed register (always: it moves money to every holder)."""
    locked = _locked(distribution.pk)
    if locked.state != DistributionState.DRAFT:
        raise Conflict(f"It is {locked.get_state_display().lower()}, not a draft.", code="state")
    if not locked.register_ready:
        raise ApplicationError(
            "Compute the register first: approval is of the register, line by line.", code="no_register"
        )
    if locked.total_net_minor <= 0 and locked.total_withheld_minor <= 0:
        raise ApplicationError("The register pays nothing to anybody.", code="empty_register")
    _treasury_refuse_if_short(locked)
    outcome = approval_propose(
        issuer=locked.offering.issuer,
        kind=DISTRIBUTION_APPROVE,
        proposer=actor,
        summary=(
            f"Approve the {locked.get_kind_display().lower()} on {locked.offering.token_symbol}: "
            f"{Money(locked.total_gross_minor, locked.currency)} gross to {locked.holders:,} holders, "
            f"{Money(locked.total_withheld_minor, locked.currency)} withheld, record date {locked.record_date:%Y-%m-%d}"
        ),
        amount_minor=locked.total_gross_minor,
        currency=locked.currency,
        payload={"distribution": locked.pk},
        obj=locked,
        required=True,
    )
    locked.state = DistributionState.PROPOSED
    locked.approval_request = outcome.request
    locked.save(update_fields=["state", "approval_request"])
    audit_record(
        actor=actor,
        action="distribution.proposed",
        obj=locked,
        issuer=locked.offering.issuer,
        before={"state": DistributionState.DRAFT},
        after={"state": locked.state, "approval_request": outcome.request.pk if outcome.request else None},
    )
    return outcome


def _approve_perform(request: ApprovalRequest, actor: User) -> Distribution:
    locked = _locked(int(request.payload["distribution"]))
    if locked.state != DistributionState.PROPOSED:
        raise Conflict(f"It is {locked.get_state_display().lower()}, not waiting for approval.", code="state")
    if locked.declared_by_id == actor.pk:
        raise NotPermitted(
            "You declared this distribution, so another admin of the issuer must approve it.", code="four_eyes"
        )
    _treasury_refuse_if_short(locked)
    locked.state = DistributionState.APPROVED
    locked.approved_by, locked.approved_at = actor, timezone.now()
    locked.save(update_fields=["state", "approved_by", "approved_at"])
    audit_record(
        actor=actor,
        action="distribution.approved",
        obj=locked,
        issuer=locked.offering.issuer,
        before={"state": DistributionState.PROPOSED},
        after={
            "state": locked.state,
            "total_gross_minor": locked.total_gross_minor,
            "total_withheld_minor": locked.total_withheld_minor,
            "total_net_minor": locked.total_net_minor,
            "declared_by": locked.declared_by_id,
            "proposed_by": request.proposed_by_id,
        },
    )
    return locked


def _decline(request: ApprovalRequest, actor: User) -> None:
    """A rejected or withdrawn request sends the distribution back to draft (to fix, ask again or cancel)."""
    locked = _locked(int(request.payload["distribution"]))
    if locked.state != DistributionState.PROPOSED:
        return
    locked.state = DistributionState.DRAFT
    locked.save(update_fields=["state"])
    audit_record(
        actor=actor,
        action="distribution.returned_to_draft",
        obj=locked,
        issuer=locked.offering.issuer,
        before={"state": DistributionState.PROPOSED},
        after={"state": locked.state, "approval": request.state, "note": request.decision_note},
    )


approval_kind_register(
    ApprovalKind(
        kind=DISTRIBUTION_APPROVE, label="Approve a distribution", perform=_approve_perform, on_decline=_decline
    )
)
