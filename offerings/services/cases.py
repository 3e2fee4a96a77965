"""Cases: money taken back from a subscription after the fact (a chargeback, a refund made elsewhere).

Once tokens are allocated or issued, the investor's corresponding quantity is frozen on-chain
through the chain pipeline (exactly once, by idempotency key) and the issuer is told. The issuer
resolves the case by releasing the tokens when the money is recovered (`case_release`), or, when it
is not, by a forced transfer back to the issuer's wallet (`case_transfer`) or a burn (`case_burn`).
Before issuance there is nothing to freeze: the subscription is flagged for the issuer's review
(`case_close` when reviewed). Every step is audited.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from core.approvals import ApprovalKind, ApprovalOutcome, approval_kind_register, approval_propose
from core.audit import audit_record
from core.errors import ApplicationError, Conflict
from core.models import ApprovalRequest, User
from core.money import Money
from offerings.models import CaseKind, CaseStage, PaymentCase, Subscription, SubscriptionStatus
from offerings.services.notifications import case_opened_notify
from tokens import services as chain
from tokens.models import ChainTransaction

TOKENS_ALLOCATED = (SubscriptionStatus.ALLOCATED, SubscriptionStatus.ISSUED)


def case_quantity(subscription: Subscription, amount_minor: int) -> int:
    """Tokens that correspond to the money taken back, rounded up so the case is fully covered."""
    if subscription.amount_minor <= 0:
        return 0
    quantity = -(-subscription.quantity * amount_minor // subscription.amount_minor)
    return max(0, min(quantity, subscription.quantity))


def case_open(
    *, subscription: Subscription, kind: str, external_ref: str, amount_minor: int, provider_status: str = ""
) -> PaymentCase:
    """Open the case for one movement (the subscription row is locked by the ledger). Once per movement."""
    existing = PaymentCase.objects.filter(subscription=subscription, kind=kind, external_ref=external_ref).first()
    if existing is not None:
        return existing
    offering = subscription.offering
    quantity = case_quantity(subscription, amount_minor) if subscription.status in TOKENS_ALLOCATED else 0
    wallet = subscription.wallet_address if quantity else ""
    case = PaymentCase.objects.create(
        subscription=subscription,
        kind=kind,
        external_ref=external_ref,
        amount_minor=amount_minor,
        currency=subscription.currency,
        quantity=quantity if wallet else 0,
        wallet_address=wallet,
        stage=CaseStage.FROZEN if wallet else CaseStage.REVIEW,
        provider_status=provider_status[:40],
    )
    if wallet:
        case.freeze_transaction = chain.token_freeze_amount(
            owner_ref=offering.owner_ref,
            wallet=wallet,
            amount=quantity,
            frozen=True,
            idempotency_key=f"case:{case.pk}:freeze",
        )
        case.save(update_fields=["freeze_transaction"])
    audit_record(
        actor="system",
        action="case.opened",
        obj=case,
        issuer=offering.issuer,
        after={
            "subscription": subscription.pk,
            "kind": kind,
            "external_ref": external_ref,
            "amount_minor": amount_minor,
            "quantity_frozen": case.quantity,
            "stage": case.stage,
        },
    )
    case_opened_notify(case=case)
    return case


def case_dispute_won(*, subscription: Subscription, external_ref: str) -> PaymentCase | None:
    """Stripe returned the money: the case stays open until the issuer releases the tokens."""
    case = PaymentCase.objects.filter(
        subscription=subscription, kind=CaseKind.DISPUTE, external_ref=external_ref
    ).first()
    if case is None:
        return None
    case.provider_status = "won"
    case.save(update_fields=["provider_status"])
    audit_record(actor="system", action="case.dispute_won", obj=case, issuer=subscription.offering.issuer)
    return case


def case_provider_status(*, case: PaymentCase, status: str) -> PaymentCase:
    if case.provider_status != status[:40]:
        before = {"provider_status": case.provider_status}
        case.provider_status = status[:40]
        case.save(update_fields=["provider_status"])
        audit_record(
            actor="system",
            action="case.provider_status",
            obj=case,
            issuer=case.subscription.offering.issuer,
            before=before,
            after={"provider_status": case.provider_status},
        )
    return case


def _lock_open(case: PaymentCase, *, stage: str) -> PaymentCase:
    locked = PaymentCase.objects.select_for_update().select_related("subscription__offering__issuer").get(pk=case.pk)
    if locked.stage != stage:
        raise Conflict(f"This case is {locked.get_stage_display().lower()}.", code="case_not_open")
    return locked


def _resolve(
    case: PaymentCase, *, stage: str, actor: User, note: str, tx_key: str | None, tx: ChainTransaction | None
) -> PaymentCase:
    before = {"stage": case.stage}
    case.stage, case.resolved_at, case.resolved_by, case.resolution_note = stage, timezone.now(), actor, note
    fields = ["stage", "resolved_at", "resolved_by", "resolution_note"]
    if tx is not None:
        case.resolution_transaction = tx
        fields.append("resolution_transaction")
    case.save(update_fields=fields)
    audit_record(
        actor=actor,
        action=f"case.{stage}",
        obj=case,
        issuer=case.subscription.offering.issuer,
        before=before,
        after={"stage": stage, "note": note, "quantity": case.quantity, "transaction": tx_key},
    )
    return case


def _unfreeze_first(case: PaymentCase, actor: User) -> None:
    # The token spends a holder's free balance before frozen tokens, so the case's tokens are
    # released first; the pipeline sends both from one sender in order.
    chain.token_freeze_amount(
        owner_ref=case.subscription.offering.owner_ref,
        wallet=case.wallet_address,
        amount=case.quantity,
        frozen=False,
        idempotency_key=f"case:{case.pk}:unfreeze",
        actor=actor,
    )


def _note(note: str) -> str:
    note = note.strip()
    if not note:
        raise ApplicationError("Say in a line why the case is resolved this way.", code="note_required")
    return note[:1000]


def _recovered_or_refuse(subscription: Subscription) -> None:
    if subscription.paid_minor < subscription.amount_minor:
        raise Conflict(
            "The money is not back yet: the subscription holds less than it costs. "
            "Transfer the tokens back or burn them instead.",
            code="not_recovered",
        )


@transaction.atomic
def case_release(*, case: PaymentCase, actor: User, note: str) -> PaymentCase:
    """The money is recovered (a dispute won, the investor paid again): unfreeze the tokens.

    Runs once a second person approved it (`case_release_propose`), or at once within the threshold.
    """
    note = _note(note)
    case = _lock_open(case, stage=CaseStage.FROZEN)
    subscription = Subscription.objects.select_for_update().get(pk=case.subscription_id)
    _recovered_or_refuse(subscription)
    key = f"case:{case.pk}:release"
    tx = chain.token_freeze_amount(
        owner_ref=subscription.offering.owner_ref,
        wallet=case.wallet_address,
        amount=case.quantity,
        frozen=False,
        idempotency_key=key,
        actor=actor,
    )
    return _resolve(case, stage=CaseStage.RELEASED, actor=actor, note=note, tx_key=key, tx=tx)


CASE_RELEASE = "offerings.case_release"


def _case_release_perform(request: ApprovalRequest, actor: User) -> PaymentCase:
    case = PaymentCase.objects.get(pk=int(request.object_id))
    return case_release(case=case, actor=actor, note=str(request.payload["note"]))


approval_kind_register(
    ApprovalKind(kind=CASE_RELEASE, label="Release tokens frozen after a chargeback", perform=_case_release_perform)
)


@transaction.atomic
def case_release_propose(*, case: PaymentCase, actor: User, note: str) -> ApprovalOutcome:
    """Unfreezing after a chargeback moves value back to the investor: a second person of the issuer
    approves it above the issuer's four-eyes threshold (always, at the default 0)."""
    note = _note(note)
    case = _lock_open(case, stage=CaseStage.FROZEN)
    subscription = Subscription.objects.select_related("offering__issuer").get(pk=case.subscription_id)
    _recovered_or_refuse(subscription)  # said now, not only when the approver clicks
    return approval_propose(
        issuer=subscription.offering.issuer,
        kind=CASE_RELEASE,
        proposer=actor,
        summary=f"Release {case.quantity} tokens frozen for a {case.get_kind_display().lower()} of "
        f"{Money(case.amount_minor, case.currency)}",
        amount_minor=case.amount_minor,
        currency=case.currency,
        payload={"note": note},
        obj=case,
    )


@transaction.atomic
def case_transfer(*, case: PaymentCase, actor: User, to_wallet: str, note: str) -> PaymentCase:
    """Not recovered: move the frozen tokens back to the issuer's wallet (registered on the registry)."""
    note = _note(note)
    case = _lock_open(case, stage=CaseStage.FROZEN)
    offering = case.subscription.offering
    key = f"case:{case.pk}:transfer"
    _unfreeze_first(case, actor)
    tx = chain.token_forced_transfer(
        owner_ref=offering.owner_ref,
        from_wallet=case.wallet_address,
        to_wallet=to_wallet,
        amount=case.quantity,
        reason=f"{case.get_kind_display()} {case.external_ref}: money not recovered",
        idempotency_key=key,
        actor=actor,
    )
    return _resolve(case, stage=CaseStage.TRANSFERRED, actor=actor, note=note, tx_key=key, tx=tx)


@transaction.atomic
def case_burn(*, case: PaymentCase, actor: User, note: str) -> PaymentCase:
    """Not recovered: burn the frozen tokens (the issuance is undone for that part)."""
    note = _note(note)
    case = _lock_open(case, stage=CaseStage.FROZEN)
    key = f"case:{case.pk}:burn"
    _unfreeze_first(case, actor)
    tx = chain.token_burn(
        owner_ref=case.subscription.offering.owner_ref,
        wallet=case.wallet_address,
        amount=case.quantity,
        idempotency_key=key,
        actor=actor,
    )
    return _resolve(case, stage=CaseStage.BURNED, actor=actor, note=note, tx_key=key, tx=tx)


@transaction.atomic
def case_close(*, case: PaymentCase, actor: User, note: str) -> PaymentCase:
    """A case before issuance (nothing frozen) is reviewed and closed."""
    note = _note(note)
    case = _lock_open(case, stage=CaseStage.REVIEW)
    return _resolve(case, stage=CaseStage.CLOSED, actor=actor, note=note, tx_key=None, tx=None)
