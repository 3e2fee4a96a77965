"""Exception requests: transfers the token blocks that the rules allow, approved by the issuer with four eyes.

Reg CF securities may not be transferred in their first year except to the issuer, to an accredited investor,
to a member of the holder's family or a trust for one, or on death or divorce (17 CFR 227.501(a)); a holder who
lost a wallet's key asks for everything in it to move to a new wallet of theirs. The holder files the request
with its reason and a supporting document. An admin of the issuer (or its transfer agent, where the issuer allows
it) approves it, which proposes the registry's forced transfer (with the request's reason and document) or wallet
recovery; another admin approves that on the approvals page, and the chain outbox carries it out once. Or the
decider refuses it, saying why.
"""

from __future__ import annotations

import hashlib
import uuid

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from compliance.eligibility import ReasonCode
from core.access import Perm, can
from core.audit import audit_record
from core.errors import ApplicationError, Conflict, NotPermitted
from core.models import ApprovalState, Issuer, User
from investors.models import InvestorProfile, Wallet
from offerings.models import Offering
from registry.models import TokenAdminState
from registry.selectors.token_admin import wallet_holding
from registry.services.ledger import wallet_investors
from registry.services.token_admin import (
    supporting_document_read,
    token_admin_forced_transfer_propose,
    token_admin_recovery_propose,
)
from tokens.selectors import address_checksum, address_is_valid
from transfers.eligibility import accredited_for_exception, transfer_eligibility
from transfers.models import (
    OPEN_REQUEST_STATES,
    ExceptionKind,
    RequestState,
    TransferRequest,
)

MAX_EXPLANATION = 1000
MAX_NOTE = 500
# Namespaces the registry action an approved request proposes, so approving twice finds the same action.
ACTION_NAMESPACE = uuid.UUID("6c1f3b7e-2a4d-4d8e-9b0f-7e5a3c2d1b90")


def _key(value: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError as exc:
        raise ApplicationError("The form expired; open the page again and resubmit.", code="form_token") from exc


def _text(value: str, *, limit: int, missing: str) -> str:
    text = " ".join((value or "").split())
    if not text:
        raise ApplicationError(missing, code="reason_required")
    if len(text) > limit:
        raise ApplicationError(f"Keep it under {limit} characters.", code="reason_too_long")
    return text


def _holders_wallet(investor: InvestorProfile, address: str, *, removed_too: bool) -> str:
    if address_is_valid(address or ""):
        rows = Wallet.objects.filter(investor=investor, address=address_checksum(address))
        if not removed_too:
            rows = rows.filter(removed_at__isnull=True)
        if rows.exists():
            return address_checksum(address)
    raise NotPermitted("Choose one of your own wallets.", code="not_your_wallet")


def _reg_cf_check(offering: Offering, kind: str, source: str, target: str, quantity: int) -> None:
    """The exception is needed (the lock-up blocks it) and the receiver could hold the units otherwise."""
    if offering.exemption != "reg_cf":
        raise ApplicationError(
            f"{offering.get_exemption_display()} securities have no such exception: only Regulation Crowdfunding "
            "units may move to these persons in their first year.",
            code="exception_not_applicable",
        )
    check = transfer_eligibility(offering=offering, from_wallet=source, to_wallet=target, quantity=quantity)
    if check.allowed:
        raise ApplicationError(
            "This transfer can go as it is: make it from your portfolio, no exception is needed.", code="not_needed"
        )
    blocking = [r for r in check.reasons if r.reason.code != ReasonCode.TOKENS_LOCKED]
    if blocking:
        raise ApplicationError(
            "Even as an exception, these units go only where they may be held: "
            + " ".join(r.message for r in blocking),
            code="receiver_not_eligible",
        )
    if kind == ExceptionKind.REG_CF_ACCREDITED and (
        check.receiver is None or not accredited_for_exception(check.receiver)
    ):
        raise ApplicationError(
            "The receiving investor is not accredited (no current accreditation on file): Reg CF 227.501(a)(2) "
            "allows a first-year transfer to an accredited investor only.",
            code="receiver_not_accredited",
        )


@transaction.atomic
def transfer_request_file(
    *,
    investor: InvestorProfile,
    offering: Offering,
    kind: str,
    from_wallet: str,
    to_wallet: str,
    quantity: int | None,
    explanation: str,
    document: UploadedFile | None,
    actor: User,
    idempotency_key: str,
) -> TransferRequest:
    """The holder asks the issuer for a transfer the token blocks; checked here, decided by the issuer."""
    key = _key(idempotency_key)
    if investor.user_id != actor.pk:
        raise NotPermitted("Only the holder files a request about their units.")
    Offering.objects.select_for_update().only("pk").get(pk=offering.pk)
    found = TransferRequest.objects.filter(idempotency_key=key).first()
    if found is not None:
        if found.investor_id != investor.pk:
            raise Conflict("This form was already used; open the page again.", code="form_token")
        return found
    if kind not in ExceptionKind.values:
        raise ApplicationError("Choose the exception that applies.", code="kind")
    text = _text(
        explanation, limit=MAX_EXPLANATION, missing="Explain the transfer in a few words; the issuer reads it."
    )
    lost = kind == ExceptionKind.LOST_WALLET
    source = _holders_wallet(investor, from_wallet, removed_too=lost)
    if lost:
        target = _holders_wallet(investor, to_wallet, removed_too=False)
        units = wallet_holding(offering=offering, wallet=source)
        if units <= 0:
            raise ApplicationError(f"{source} holds no {offering.token_symbol}: there is nothing to recover.")
    else:
        if not address_is_valid(to_wallet or ""):
            raise ApplicationError("Enter the receiving wallet's address (0x and 40 hexadecimal digits).")
        target = address_checksum(to_wallet)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise ApplicationError("Enter the quantity to transfer, a whole number above zero.", code="invalid_amount")
        units = quantity
        _reg_cf_check(offering, kind, source, target, units)
    if source == target:
        raise ApplicationError("The receiving wallet is the sending wallet.", code="same_wallet")
    if TransferRequest.objects.filter(offering=offering, from_wallet=source, state__in=OPEN_REQUEST_STATES).exists():
        raise Conflict(
            "A request about this wallet is still open; wait for the issuer's decision (or withdraw it) first.",
            code="request_open",
        )
    content, content_type, extension = supporting_document_read(document)
    request = TransferRequest(
        offering=offering,
        investor=investor,
        kind=kind,
        from_wallet=source,
        to_wallet=target,
        to_investor=wallet_investors([target]).get(target),
        quantity=units,
        explanation=text,
        document_name=((document.name if document else "") or "document")[:200],
        document_content_type=content_type,
        document_sha256=hashlib.sha256(content).hexdigest(),
        idempotency_key=key,
        filed_by=actor,
    )
    request.document.save(f"{uuid.uuid4().hex}.{extension}", ContentFile(content), save=False)
    try:
        with transaction.atomic():
            request.save()
    except IntegrityError:
        request.document.delete(save=False)
        return TransferRequest.objects.get(idempotency_key=key)
    audit_record(
        actor=actor,
        action="transfer_request.filed",
        obj=request,
        issuer=offering.issuer,
        after={
            "kind": kind,
            "from_wallet": source,
            "to_wallet": target,
            "quantity": units,
            "explanation": text,
            "document_sha256": request.document_sha256,
        },
    )
    return request


def _locked(request: TransferRequest) -> TransferRequest:
    Offering.objects.select_for_update().only("pk").get(pk=request.offering_id)
    return (
        TransferRequest.objects.select_for_update(of=("self",))
        .select_related("offering__issuer", "investor", "action")
        .get(pk=request.pk)
    )


def _decider(request: TransferRequest, actor: User) -> None:
    if not can(actor, Perm.TRANSFER_REQUESTS_DECIDE, request.offering.issuer):
        raise NotPermitted(
            "Only an admin of the issuer (or its transfer agent, where the issuer allows it) decides its holders' "
            "transfer requests."
        )


@transaction.atomic
def transfer_agent_decisions_set(*, issuer: Issuer, actor: User, allowed: bool) -> Issuer:
    """An issuer admin lets its transfer agent decide the holders' exception requests, or stops it (audited)."""
    if not can(actor, Perm.REGISTRY_ADMINISTER, issuer):
        raise NotPermitted("Only an admin of the issuer decides who decides its holders' transfer requests.")
    locked = Issuer.objects.select_for_update().get(pk=issuer.pk)
    if locked.transfer_agent_decides_requests == allowed:
        return locked
    locked.transfer_agent_decides_requests = allowed
    locked.save(update_fields=["transfer_agent_decides_requests"])
    audit_record(
        actor=actor,
        action="issuer.transfer_agent_decides_requests",
        obj=locked,
        issuer=locked,
        before={"transfer_agent_decides_requests": not allowed},
        after={"transfer_agent_decides_requests": allowed},
    )
    return locked


def _stored_document(request: TransferRequest) -> SimpleUploadedFile:
    with request.document.open("rb") as f:
        content = f.read()
    return SimpleUploadedFile(request.document_name, content, request.document_content_type)


@transaction.atomic
def transfer_request_approve(*, request: TransferRequest, actor: User) -> TransferRequest:
    """The first admin approves: the registry's forced transfer or recovery is proposed with the request's reason
    and document, and waits there for a second admin. Approving again finds the same proposal."""
    locked = _locked(request)
    _decider(locked, actor)
    if locked.action_id is not None:
        return locked
    if locked.state != RequestState.FILED:
        raise Conflict(f"This request is {locked.get_state_display().lower()}.", code="decided")
    reason = f"{locked.get_kind_display()}; transfer request {locked.public_id}: {locked.explanation}"[:500]
    key = str(uuid.uuid5(ACTION_NAMESPACE, str(locked.public_id)))
    if locked.is_recovery:
        action = token_admin_recovery_propose(
            offering=locked.offering,
            investor=locked.investor,
            lost_wallet=locked.from_wallet,
            new_wallet=locked.to_wallet,
            reason=reason,
            document=_stored_document(locked),
            actor=actor,
            idempotency_key=key,
            allowed_by=Perm.TRANSFER_REQUESTS_DECIDE,
        )
    else:
        action = token_admin_forced_transfer_propose(
            offering=locked.offering,
            from_wallet=locked.from_wallet,
            to_wallet=locked.to_wallet,
            quantity=locked.quantity,
            reason=reason,
            document=_stored_document(locked),
            actor=actor,
            idempotency_key=key,
            allowed_by=Perm.TRANSFER_REQUESTS_DECIDE,
        )
    before = locked.state
    locked.action, locked.state = action, RequestState.APPROVING
    locked.decided_by, locked.decided_at = actor, timezone.now()
    locked.save(update_fields=["action", "state", "decided_by", "decided_at", "updated_at"])
    audit_record(
        actor=actor,
        action="transfer_request.approved",
        obj=locked,
        issuer=locked.offering.issuer,
        before={"state": before},
        after={"state": locked.state, "token_admin_action": str(action.public_id)},
    )
    return locked


@transaction.atomic
def transfer_request_refuse(*, request: TransferRequest, actor: User, note: str) -> TransferRequest:
    """An admin refuses, with the reason the holder reads."""
    locked = _locked(request)
    _decider(locked, actor)
    text = _text(note, limit=MAX_NOTE, missing="Say why it is refused; the holder reads it.")
    if locked.state != RequestState.FILED:
        raise Conflict(
            f"This request is {locked.get_state_display().lower()}"
            + (
                ": reject its proposal on the approvals page instead."
                if locked.state == RequestState.APPROVING
                else "."
            ),
            code="decided",
        )
    locked.state, locked.decision_note = RequestState.REFUSED, text
    locked.decided_by, locked.decided_at = actor, timezone.now()
    locked.save(update_fields=["state", "decision_note", "decided_by", "decided_at", "updated_at"])
    audit_record(
        actor=actor,
        action="transfer_request.refused",
        obj=locked,
        issuer=locked.offering.issuer,
        before={"state": RequestState.FILED},
        after={"state": locked.state, "note": text},
    )
    return locked


@transaction.atomic
def transfer_request_withdraw(*, request: TransferRequest, actor: User) -> TransferRequest:
    locked = _locked(request)
    if locked.investor.user_id != actor.pk:
        raise NotPermitted("Only the holder withdraws their request.")
    if locked.state == RequestState.WITHDRAWN:
        return locked
    if locked.state != RequestState.FILED:
        raise Conflict(f"This request is {locked.get_state_display().lower()}; it can no longer be withdrawn.")
    locked.state = RequestState.WITHDRAWN
    locked.save(update_fields=["state", "updated_at"])
    audit_record(
        actor=actor,
        action="transfer_request.withdrawn",
        obj=locked,
        issuer=locked.offering.issuer,
        before={"state": RequestState.FILED},
        after={"state": locked.state},
    )
    return locked


_FOLLOWS = {
    TokenAdminState.APPROVED: RequestState.EXECUTING,
    TokenAdminState.SENT: RequestState.EXECUTING,
    TokenAdminState.CONFIRMED: RequestState.EXECUTING,
    TokenAdminState.POSTED: RequestState.DONE,
    TokenAdminState.FAILED: RequestState.FAILED,
    TokenAdminState.REJECTED: RequestState.REFUSED,
}


def transfer_request_advance(*, request: TransferRequest) -> TransferRequest:
    """Follow the registry action that carries the request out: executing, done, failed, or refused there."""
    with transaction.atomic():
        locked = (
            TransferRequest.objects.select_for_update(of=("self",))
            .select_related("offering__issuer", "action__approval", "action__chain_transaction")
            .get(pk=request.pk)
        )
        action = locked.action
        if action is None or locked.state not in OPEN_REQUEST_STATES:
            return locked
        target = _FOLLOWS.get(TokenAdminState(action.state), locked.state)
        if target == locked.state:
            return locked
        before = locked.state
        locked.state = target
        if target == RequestState.DONE:
            locked.done_at = timezone.now()
        if target == RequestState.REFUSED and action.approval is not None:
            if action.approval.state == ApprovalState.REJECTED:
                locked.decided_by = action.approval.decided_by
                locked.decided_at = action.approval.decided_at
            locked.decision_note = (action.approval.decision_note or "The second admin did not approve it.")[:500]
        if target == RequestState.FAILED:
            tx = action.chain_transaction
            locked.decision_note = f"It failed on-chain ({tx.error_name or tx.last_error[:200] if tx else 'failed'})."
        locked.save(update_fields=["state", "done_at", "decided_by", "decided_at", "decision_note", "updated_at"])
        audit_record(
            actor=None,
            action="transfer_request.progressed",
            obj=locked,
            issuer=locked.offering.issuer,
            before={"state": before},
            after={"state": target, "token_admin_action": str(action.public_id), "action_state": action.state},
        )
        return locked


def transfer_requests_advance() -> int:
    changed = 0
    rows = TransferRequest.objects.filter(state__in=OPEN_REQUEST_STATES, action__isnull=False).order_by("pk")
    for request in rows.only("pk", "state"):
        if transfer_request_advance(request=request).state != request.state:
            changed += 1
    return changed
