"""Four eyes on a dealing day's register: an issuer admin proposes the priced register, a second admin approves it,
and only then are its units burned and its nets paid.

The proposer never approves (core.approvals refuses that, and so does the database). For a stablecoin payout
the treasury must hold the net total, when proposing and again when approving. A rejected or withdrawn request
sends the day back to priced, to be proposed again.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from core.access import Perm, can
from core.approvals import ApprovalKind, ApprovalOutcome, approval_kind_register, approval_propose
from core.audit import audit_record
from core.errors import ApplicationError, Conflict, NotPermitted
from core.models import ApprovalRequest, User
from core.money import Money
from core.tasks import task_enqueue_on_commit
from distributions.models import PaymentMethod
from offerings.services.stablecoin import units_per_cent
from redemptions.locks import dealing_day_locked
from redemptions.models import REDEMPTION_APPROVAL_KIND, DealingDay, DealingState, RedemptionRequest, RequestState
from redemptions.pricing import nav_text
from tokens.selectors import payout_treasury_funds
from tokens.services import CHAIN_TRANSIENT_ERRORS


def _locked(day_id: int) -> DealingDay:
    return dealing_day_locked(day_id)


def treasury_refuse_if_short(day: DealingDay, *, needed_minor: int | None = None) -> None:
    """A stablecoin payout needs the treasury to hold what is still to pay; a bank payout is the bank's business."""
    if day.payout_method != PaymentMethod.STABLECOIN:
        return
    needed = day.total_net_minor if needed_minor is None else needed_minor
    try:
        funds = payout_treasury_funds()
    except CHAIN_TRANSIENT_ERRORS as exc:
        raise ApplicationError(
            "The treasury's balance cannot be read: the chain cannot be reached just now. Try again shortly.",
            code="chain_down",
        ) from exc
    if funds is None:
        raise ApplicationError(
            "The payout contract or the stablecoin is not deployed yet, so nothing can be paid on-chain.",
            code="no_payout_contract",
        )
    balance = funds.balance // units_per_cent()
    if balance < needed:
        raise ApplicationError(
            f"The treasury {funds.treasury} holds {Money(balance, day.currency)}, short of the "
            f"{Money(needed, day.currency)} to pay by {Money(needed - balance, day.currency)}. Fund it first.",
            code="treasury_short",
        )


@transaction.atomic
def dealing_day_propose(*, day: DealingDay, actor: User) -> ApprovalOutcome:
    """Ask a second admin to approve the priced register (always: it burns holders' units and pays them)."""
    locked = _locked(day.pk)
    if not can(actor, Perm.ISSUER_MANAGE_DISTRIBUTIONS, locked.offering.issuer):
        raise NotPermitted("Only an admin of the issuer proposes a dealing day's register.")
    if locked.state != DealingState.PRICED:
        raise Conflict(
            f"It is {locked.get_state_display().lower()}: only a priced dealing day is proposed.", code="state"
        )
    treasury_refuse_if_short(locked)
    assert locked.nav_per_unit is not None
    outcome = approval_propose(
        issuer=locked.offering.issuer,
        kind=REDEMPTION_APPROVAL_KIND,
        proposer=actor,
        summary=(
            f"Approve the redemptions of {locked.offering.token_symbol} at the dealing day "
            f"{locked.dealing_date:%Y-%m-%d}: {locked.accepted_units:,} units of {locked.requests:,} requests at "
            f"{nav_text(nav_per_unit=locked.nav_per_unit, nav_scale=locked.nav_scale)} {locked.currency}, "
            f"{Money(locked.total_net_minor, locked.currency)} net after "
            f"{Money(locked.total_fee_minor, locked.currency)} in fees"
        ),
        amount_minor=locked.total_gross_minor,
        currency=locked.currency,
        payload={"dealing_day": locked.pk},
        obj=locked,
        required=True,
    )
    locked.state, locked.proposed_by, locked.approval_request = DealingState.PROPOSED, actor, outcome.request
    locked.save(update_fields=["state", "proposed_by", "approval_request"])
    audit_record(
        actor=actor,
        action="redemption.dealing_day_proposed",
        obj=locked,
        issuer=locked.offering.issuer,
        before={"state": DealingState.PRICED},
        after={"state": locked.state, "approval_request": outcome.request.pk if outcome.request else None},
    )
    return outcome


def _approve_perform(request: ApprovalRequest, actor: User) -> DealingDay:
    locked = _locked(int(request.payload["dealing_day"]))
    if not can(actor, Perm.ISSUER_MANAGE_DISTRIBUTIONS, locked.offering.issuer):
        raise NotPermitted("Only an admin of the issuer approves a dealing day's register.")
    if locked.state != DealingState.PROPOSED:
        raise Conflict(f"It is {locked.get_state_display().lower()}, not waiting for approval.", code="state")
    if locked.proposed_by_id == actor.pk:
        raise NotPermitted(
            "You proposed this register, so another admin of the issuer must approve it.", code="four_eyes"
        )
    treasury_refuse_if_short(locked)
    locked.state = DealingState.SETTLING
    locked.approved_by, locked.approved_at = actor, timezone.now()
    locked.save(update_fields=["state", "approved_by", "approved_at"])
    approved = RedemptionRequest.objects.filter(dealing_day=locked, state=RequestState.PRICED).update(
        state=RequestState.APPROVED
    )
    audit_record(
        actor=actor,
        action="redemption.dealing_day_approved",
        obj=locked,
        issuer=locked.offering.issuer,
        before={"state": DealingState.PROPOSED},
        after={
            "state": locked.state,
            "lines": approved,
            "accepted_units": locked.accepted_units,
            "total_gross_minor": locked.total_gross_minor,
            "total_fee_minor": locked.total_fee_minor,
            "total_net_minor": locked.total_net_minor,
            "proposed_by": locked.proposed_by_id,
        },
    )
    from redemptions.tasks import dealing_day_settle_task

    task_enqueue_on_commit(dealing_day_settle_task, locked.pk, when_broker_down="the beat's next run settles it")
    return locked


def _decline(request: ApprovalRequest, actor: User) -> None:
    locked = _locked(int(request.payload["dealing_day"]))
    if locked.state != DealingState.PROPOSED:
        return
    locked.state, locked.proposed_by = DealingState.PRICED, None
    locked.save(update_fields=["state", "proposed_by"])
    audit_record(
        actor=actor,
        action="redemption.dealing_day_returned",
        obj=locked,
        issuer=locked.offering.issuer,
        before={"state": DealingState.PROPOSED},
        after={"state": locked.state, "approval": request.state, "note": request.decision_note},
    )


approval_kind_register(
    ApprovalKind(
        kind=REDEMPTION_APPROVAL_KIND,
        label="Approve a dealing day's redemptions",
        perform=_approve_perform,
        on_decline=_decline,
    )
)
