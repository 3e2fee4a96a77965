"""Offering documents: every upload a new version with its SHA-256; material changes reach investors."""

from __future__ import annotations

import hashlib

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from compliance.exemptions import Exemption
from core.audit import audit_record
from core.business_days import business_days_add
from core.errors import ApplicationError
from core.filetypes import PDF, UnreadableFile, file_type_read
from core.models import User
from core.tasks import task_enqueue_on_commit
from offerings.models import (
    OPEN_SUBSCRIPTION_STATUSES,
    DocumentKind,
    Offering,
    OfferingDocument,
    OfferingStatus,
    Subscription,
)

MAX_DOCUMENT_BYTES = 25 * 1024 * 1024


@transaction.atomic
def document_upload(
    *,
    offering: Offering,
    actor: User,
    kind: str,
    title: str,
    upload: UploadedFile,
    material: bool = False,
    change_note: str = "",
) -> OfferingDocument:
    if kind not in DocumentKind.values:
        raise ApplicationError("Choose what kind of document this is.", code="invalid_kind")
    offering = Offering.objects.select_for_update().get(pk=offering.pk)
    if kind == DocumentKind.FORM_C and offering.exemption != Exemption.REG_CF:
        raise ApplicationError(
            "Form C is the offering statement of Regulation Crowdfunding offerings only.", code="invalid_kind"
        )
    if offering.status not in (OfferingStatus.DRAFT, OfferingStatus.OPEN):
        raise ApplicationError("Documents cannot change once the offering is closing.", code="closing")
    title = (title or "").strip() or DocumentKind(kind).label
    if upload.size is not None and upload.size > MAX_DOCUMENT_BYTES:
        raise ApplicationError(
            f"The file is {upload.size // (1024 * 1024)} MB; documents can be at most 25 MB.", code="too_large"
        )
    upload.seek(0)
    content = upload.read(MAX_DOCUMENT_BYTES + 1)
    if len(content) > MAX_DOCUMENT_BYTES:
        raise ApplicationError("The file is larger than 25 MB; documents can be at most 25 MB.", code="too_large")
    try:
        pdf = file_type_read(content, accepted=(PDF,))
    except UnreadableFile as exc:
        raise ApplicationError(f"“{upload.name}” was refused: {exc}.", code="not_pdf") from exc
    if pdf is None:
        raise ApplicationError("Upload the document as a PDF file.", code="not_pdf")
    if material and offering.status == OfferingStatus.DRAFT:
        material = False  # nobody has subscribed to a draft
    if material and not change_note.strip():
        raise ApplicationError("Describe the material change for investors.", code="note_required")
    version = (
        OfferingDocument.objects.filter(offering=offering, kind=kind, title=title).aggregate(v=Max("version"))["v"] or 0
    ) + 1
    digest = hashlib.sha256(content).hexdigest()
    document = OfferingDocument(
        offering=offering,
        kind=kind,
        title=title,
        version=version,
        original_name=(upload.name or "document.pdf")[:200],
        content_type="application/pdf",
        size=len(content),
        sha256=digest,
        material=material,
        change_note=change_note.strip(),
        uploaded_by=actor,
    )
    document.file.save(f"{offering.public_id}-{kind}-v{version}.pdf", ContentFile(content), save=False)
    document.save()
    audit_record(
        actor=actor,
        action="offering.document_uploaded",
        obj=document,
        issuer=offering.issuer,
        after={"kind": kind, "title": title, "version": version, "sha256": digest, "material": material},
    )
    if material:
        _material_change(offering=offering, document=document, actor=actor)
    return document


def _material_change(*, offering: Offering, document: OfferingDocument, actor: User) -> None:
    """Tell every investor with an open subscription; Reg CF commitments must be reconfirmed in time."""
    subscriptions = Subscription.objects.filter(offering=offering, status__in=OPEN_SUBSCRIPTION_STATUSES)
    deadline = None
    if offering.reconfirm_business_days:
        # Reg CF 227.304(c): reconfirm within five business days of the change.
        deadline = business_days_add(timezone.now(), offering.reconfirm_business_days)
        subscriptions.update(reconfirm_by=deadline, updated_at=timezone.now())
    ids = list(subscriptions.values_list("pk", flat=True))
    audit_record(
        actor=actor,
        action="offering.material_change",
        obj=offering,
        after={"document": document.pk, "subscriptions": len(ids), "reconfirm_by": deadline},
    )
    from offerings.tasks import material_change_notify_task

    task_enqueue_on_commit(material_change_notify_task, document.pk)
