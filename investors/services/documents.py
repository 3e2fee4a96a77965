"""Identity documents and evidence: checked by content and size, stored outside any public root."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from functools import partial

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from core.audit import audit_record
from core.errors import ApplicationError, NotPermitted
from core.fields import FILE_PREFIX, bytes_token_is_current, decrypt_bytes, encrypt_bytes
from core.filetypes import ACCEPTED, UnreadableFile, file_type_read
from core.models import User
from investors.models import (
    AccreditationClaim,
    AccreditationStatus,
    BeneficialOwner,
    DocumentKind,
    InvestorDocument,
    InvestorProfile,
)
from investors.services.profiles import EDITABLE_KYC_STATES, normalise_tax_id, validate_country

# Evidence may be added while the claim is being put together or after the reviewer asked for more.
CLAIM_OPEN_STATES = frozenset({AccreditationStatus.DRAFT, AccreditationStatus.MORE_INFO})
# Kinds whose number identifies the person (CIP: passport number with issuing country, or another photo id).
NUMBERED_KINDS = {
    DocumentKind.PASSPORT: "passport",
    DocumentKind.NATIONAL_ID: "national_id",
    DocumentKind.DRIVING_LICENCE: "foreign_tin",
}


def _read_checked(upload: UploadedFile) -> tuple[bytes, str, str]:
    limit = settings.IDENTITY_UPLOAD_MAX_BYTES
    if upload.size is None or upload.size == 0:
        raise ApplicationError("The file is empty.", code="empty_file")
    if upload.size > limit:
        raise ApplicationError(
            f"The file is {filesizeformat(upload.size)}; the limit is {filesizeformat(limit)}.", code="file_too_large"
        )
    upload.seek(0)
    content = upload.read(limit + 1)
    if len(content) > limit:
        raise ApplicationError(f"The file is larger than {filesizeformat(limit)}.", code="file_too_large")
    try:
        kind = file_type_read(content)
    except UnreadableFile as exc:
        raise ApplicationError(f"“{upload.name}” was refused: {exc}.", code="file_unreadable") from exc
    if kind is None:
        accepted = ", ".join(t.label for t in ACCEPTED)
        raise ApplicationError(
            f"“{upload.name}” is not a {accepted} file: its content says otherwise, whatever its name.",
            code="file_type",
        )
    return content, kind.content_type, kind.extension


@transaction.atomic
def document_upload(
    *,
    investor: InvestorProfile,
    actor: User,
    kind: str,
    upload: UploadedFile,
    owner: BeneficialOwner | None = None,
    claim: AccreditationClaim | None = None,
    document_number: str = "",
    issuing_country: str = "",
    document_date: dt.date | None = None,
    expires_on: dt.date | None = None,
) -> InvestorDocument:
    investor = InvestorProfile.objects.select_for_update().get(pk=investor.pk)
    if kind not in DocumentKind.values:
        raise ApplicationError("Choose what kind of document this is.", code="document_kind")
    if owner is not None and owner.investor_id != investor.pk:
        raise NotPermitted("That person is not one of your entity's owners.")
    if claim is not None:
        if claim.investor_id != investor.pk:
            raise NotPermitted("That accreditation claim is not yours.")
        if claim.status not in CLAIM_OPEN_STATES:
            raise ApplicationError("This claim is no longer collecting evidence.", code="claim_closed")
    elif investor.kyc_status not in EDITABLE_KYC_STATES:
        raise NotPermitted(
            "Your identity review has started; write to the compliance team to add documents.", code="profile_locked"
        )
    today = timezone.localdate()
    if expires_on is not None and expires_on <= today:
        raise ApplicationError("This document has expired; upload one that is still valid.", code="document_expired")
    if document_date is not None and document_date > today:
        raise ApplicationError("The document's date cannot be in the future.", code="document_date_future")
    number = ""
    if kind in NUMBERED_KINDS:
        if not document_number.strip():
            raise ApplicationError("Enter the document's number as printed on it.", code="document_number")
        number = normalise_tax_id(kind=NUMBERED_KINDS[DocumentKind(kind)], value=document_number)
        issuing_country = validate_country(issuing_country, label="issuing country")
        if expires_on is None:
            raise ApplicationError("Enter the date the document expires.", code="document_expiry_missing")
    elif issuing_country:
        issuing_country = validate_country(issuing_country, label="issuing country")

    content, content_type, extension = _read_checked(upload)
    document = InvestorDocument(
        investor=investor,
        owner=owner,
        claim=claim,
        kind=kind,
        original_name=(upload.name or "upload")[:200],
        content_type=content_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        document_number=number,
        issuing_country=issuing_country,
        document_date=document_date,
        expires_on=expires_on,
        uploaded_by=actor,
    )
    # Encrypted at rest with the field-encryption keys; `document_content` reads it back.
    document.file.save(f"{uuid.uuid4().hex}.{extension}", ContentFile(encrypt_bytes(content)), save=False)
    try:
        document.save()
        audit_record(
            actor=actor,
            action="investor.document_uploaded",
            obj=document,
            after={
                "investor": investor.reference,
                "kind": kind,
                "owner": owner.pk if owner else None,
                "claim": str(claim.public_id) if claim else None,
                "content_type": content_type,
                "size": document.size,
                "sha256": document.sha256,
            },
        )
    except Exception:
        document.file.delete(save=False)
        raise
    return document


@transaction.atomic
def document_remove(*, document: InvestorDocument, actor: User) -> None:
    """Withdraw a document from review. The file stays for the record-keeping period."""
    document = InvestorDocument.objects.select_for_update().get(pk=document.pk)
    if document.removed_at is not None:
        return
    if document.claim_id is not None:
        if document.claim is not None and document.claim.status not in CLAIM_OPEN_STATES:
            raise ApplicationError("This claim is under review; its evidence cannot change now.", code="claim_closed")
    elif document.investor.kyc_status not in EDITABLE_KYC_STATES:
        raise NotPermitted("Your identity review has started; documents cannot be withdrawn now.")
    document.removed_at = timezone.now()
    document.save(update_fields=["removed_at"])
    audit_record(
        actor=actor,
        action="investor.document_removed",
        obj=document,
        before={"investor": document.investor.reference, "kind": document.kind, "sha256": document.sha256},
    )


def documents_reencrypt() -> int:
    """Rewrite every document file not encrypted with the newest key (key rotation, and files stored
    before encryption at rest). Returns how many were rewritten; the old file is deleted after commit."""
    rewritten = 0
    for pk in list(InvestorDocument.objects.order_by("pk").values_list("pk", flat=True).iterator(chunk_size=1000)):
        with transaction.atomic():
            document = InvestorDocument.objects.select_for_update().get(pk=pk)
            try:
                with document.file.open("rb") as handle:
                    stored = handle.read()
            except FileNotFoundError:
                continue
            if bytes_token_is_current(stored):
                continue
            clear = decrypt_bytes(stored) if stored.startswith(FILE_PREFIX) else stored
            old_name = document.file.name or ""
            storage = document.file.storage
            document.file.save(old_name.rsplit("/", 1)[-1], ContentFile(encrypt_bytes(clear)), save=False)
            InvestorDocument.objects.filter(pk=pk).update(file=document.file.name)
            transaction.on_commit(partial(storage.delete, old_name))
            rewritten += 1
    return rewritten
