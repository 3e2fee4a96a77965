"""The control book: units authorized (only by a written issuer authorization) and units issued.

An authorization is a document of the issuer (a board resolution) kept with its SHA-256; raising the
authorized quantity needs a second admin of the issuer (four eyes), lowering it applies at once.

Issued is what the portal itself issued: each closing mint batch the outbox confirmed is entered once
(keyed by the batch), with the transaction that carried it, and so is each other mint of the portal's (a
dividend reinvested) and each burn (a redemption), once per transaction, by the app that made it. A mint
made on-chain any other way (the agent key used outside the portal) is never entered here, so
reconciliation finds it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from core.approvals import ApprovalKind, ApprovalOutcome, approval_kind_register, approval_propose
from core.audit import audit_record
from core.errors import ApplicationError
from core.filetypes import JPEG, PDF, PNG, FileType, UnreadableFile, file_type_read
from core.models import ApprovalRequest, User
from offerings.models import MintBatch, Offering
from registry.models import AUTHORIZATION_APPROVAL_KIND, ControlBookEntry, ControlEntryKind, IssuerAuthorization
from tokens.models import TxStatus

# A document of the issuer's board, read whole before it is kept: a PDF or a scan of one.
AUTHORIZATION_DOCUMENT_TYPES = (PDF, PNG, JPEG)
MAX_AUTHORIZATION_BYTES = 25 * 1024 * 1024
# A quantity the token's uint256 supply and our BigIntegerField both hold, far past any real share count.
MAX_AUTHORIZED_QUANTITY = 10**15
AUTHORIZATION = AUTHORIZATION_APPROVAL_KIND


def _document_read(document: UploadedFile | None) -> tuple[bytes, FileType]:
    if not document:
        raise ApplicationError("Attach the signed authorization (e.g. the board resolution).", code="document_required")
    if document.size is not None and document.size > MAX_AUTHORIZATION_BYTES:
        raise ApplicationError("The document is larger than 25 MB; upload at most 25 MB.", code="too_large")
    document.seek(0)
    content = document.read(MAX_AUTHORIZATION_BYTES + 1)
    if len(content) > MAX_AUTHORIZATION_BYTES:
        raise ApplicationError("The document is larger than 25 MB; upload at most 25 MB.", code="too_large")
    try:
        kind = file_type_read(content, accepted=AUTHORIZATION_DOCUMENT_TYPES)
    except UnreadableFile as exc:
        raise ApplicationError(f"“{document.name}” was refused: {exc}.", code="unreadable_document") from exc
    if kind is None:
        raise ApplicationError("Upload the authorization as a PDF (or a JPEG or PNG scan).", code="document_type")
    return content, kind


@transaction.atomic
def authorization_propose(
    *,
    offering: Offering,
    authorized_quantity: int,
    description: str,
    document: UploadedFile | None,
    authorized_on: dt.date,
    actor: User,
) -> ApprovalOutcome:
    """Record a written issuer authorization of the units a token may have (17Ad-9 control book).

    Raising the authorized quantity is a cap-table change, so it takes effect only when a second admin
    of the issuer approves it (core.approvals); lowering it is stricter and takes effect at once."""
    if isinstance(authorized_quantity, bool) or not isinstance(authorized_quantity, int) or authorized_quantity < 0:
        raise ApplicationError("The authorized quantity must be a whole number, zero or more.", code="invalid_amount")
    if authorized_quantity > MAX_AUTHORIZED_QUANTITY:
        raise ApplicationError(
            f"The authorized quantity can be at most {MAX_AUTHORIZED_QUANTITY:,} units.", code="invalid_amount"
        )
    description = (description or "").strip()
    if not description:
        raise ApplicationError("Describe the authorization (e.g. the board resolution).", code="description_required")
    if authorized_on > timezone.localdate():
        raise ApplicationError("The authorization's date cannot be in the future.", code="date_in_future")
    content, kind = _document_read(document)
    Offering.objects.select_for_update().only("pk").get(pk=offering.pk)
    before = authorized_quantity_of(offering=offering)
    record = IssuerAuthorization(
        offering=offering,
        authorized_quantity=authorized_quantity,
        description=description[:300],
        document_sha256=hashlib.sha256(content).hexdigest(),
        document_name=((document.name if document else "") or f"authorization.{kind.extension}")[:200],
        document_content_type=kind.content_type,
        authorized_on=authorized_on,
        recorded_by=actor,
    )
    record.document.save(f"{offering.public_id}-{uuid.uuid4().hex}.{kind.extension}", ContentFile(content), save=False)
    record.save()
    audit_record(
        actor=actor,
        action="registry.authorization_recorded",
        obj=record,
        before={"authorized": before},
        after={
            "authorized": authorized_quantity,
            "document_sha256": record.document_sha256,
            "authorized_on": authorized_on.isoformat(),
        },
        issuer=offering.issuer,
    )
    raising = before is None or authorized_quantity > before
    return approval_propose(
        issuer=offering.issuer,
        kind=AUTHORIZATION,
        proposer=actor,
        summary=(
            f"{offering.title}: authorize {authorized_quantity:,} units"
            f" (now {'none' if before is None else f'{before:,}'}), per “{description[:100]}”; the document is on "
            "the token's control book page"
        ),
        amount_minor=0,
        currency="",
        payload={"authorization_id": record.pk},
        obj=record,
        required=raising,
    )


def _authorization_perform(request: ApprovalRequest, actor: User) -> IssuerAuthorization:
    record = IssuerAuthorization.objects.select_related("offering__issuer").get(pk=request.payload["authorization_id"])
    Offering.objects.select_for_update().only("pk").get(pk=record.offering_id)
    record = IssuerAuthorization.objects.select_for_update().get(pk=record.pk)
    if record.effective_at is not None:
        return record
    before = authorized_quantity_of(offering=record.offering)
    record.effective_at = timezone.now()
    record.approved_by = actor if actor.pk != record.recorded_by_id else None
    record.save(update_fields=["effective_at", "approved_by"])
    audit_record(
        actor=actor,
        action="registry.authorization_effective",
        obj=record,
        before={"authorized": before},
        after={"authorized": record.authorized_quantity, "document_sha256": record.document_sha256},
        issuer=record.offering.issuer,
    )
    return record


approval_kind_register(
    ApprovalKind(kind=AUTHORIZATION, label="Change a token's authorized quantity", perform=_authorization_perform)
)


def _effective(offering: Offering) -> IssuerAuthorization | None:
    return (
        IssuerAuthorization.objects.filter(offering=offering, effective_at__isnull=False)
        .order_by("-effective_at", "-id")
        .first()
    )


def authorized_quantity_of(*, offering: Offering) -> int | None:
    """The units the latest effective authorization allows (None: no authorization in effect yet)."""
    latest = _effective(offering)
    return latest.authorized_quantity if latest else None


@transaction.atomic
def control_book_post_issuances(*, offering: Offering) -> int:
    """Enter each confirmed closing mint batch of the offering once; returns how many were new."""
    batches = (
        MintBatch.objects.filter(offering=offering, chain_transaction__status=TxStatus.CONFIRMED)
        .filter(control_book_entry__isnull=True)
        .select_related("chain_transaction")
        .order_by("number")
    )
    authorization = _effective(offering)
    entries = []
    for batch in batches:
        entry = ControlBookEntry.objects.create(
            offering=offering,
            kind=ControlEntryKind.ISSUE,
            quantity=batch.quantity,
            transaction_hash=batch.chain_transaction.tx_hash or "",
            mint_batch=batch,
            authorization=authorization,
        )
        entries.append(entry)
        audit_record(
            actor="control book",
            action="registry.issuance_entered",
            obj=entry,
            after={"quantity": entry.quantity, "transaction": entry.transaction_hash, "batch": batch.number},
            issuer=offering.issuer,
        )
    return len(entries)


def control_book_post_issuance(*, offering: Offering, quantity: int, transaction_hash: str) -> ControlBookEntry | None:
    """Enter units the portal issued outside a closing (a dividend reinvested) once per transaction; None when
    nothing was."""
    return _post_once(offering, ControlEntryKind.ISSUE, quantity, transaction_hash, "registry.issuance_entered")


def control_book_post_cancellation(
    *, offering: Offering, quantity: int, transaction_hash: str
) -> ControlBookEntry | None:
    """Enter units the portal cancelled (burned at a redemption) once per transaction; None when nothing was."""
    return _post_once(offering, ControlEntryKind.CANCEL, quantity, transaction_hash, "registry.cancellation_entered")


@transaction.atomic
def _post_once(
    offering: Offering, kind: str, quantity: int, transaction_hash: str, action: str
) -> ControlBookEntry | None:
    if quantity <= 0 or not transaction_hash:
        return None
    Offering.objects.select_for_update().only("pk").get(pk=offering.pk)
    existing = ControlBookEntry.objects.filter(offering=offering, kind=kind, transaction_hash=transaction_hash).first()
    if existing is not None:
        return existing
    entry = ControlBookEntry.objects.create(
        offering=offering,
        kind=kind,
        quantity=quantity,
        transaction_hash=transaction_hash,
        authorization=_effective(offering),
    )
    audit_record(
        actor="control book",
        action=action,
        obj=entry,
        after={"quantity": quantity, "transaction": transaction_hash},
        issuer=offering.issuer,
    )
    return entry
