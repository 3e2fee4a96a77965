"""The control book: units authorized (only by a written issuer authorization) and units issued.

Issued is what the portal itself issued: each closing mint batch the outbox confirmed is entered once
(keyed by the batch), with the transaction that carried it. A mint made on-chain any other way (the
agent key used outside the portal) is never entered here, so reconciliation finds it.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from core.audit import audit_record
from core.errors import ApplicationError
from core.models import User
from offerings.models import MintBatch, Offering
from registry.models import ControlBookEntry, ControlEntryKind, IssuerAuthorization
from tokens.models import TxStatus


@transaction.atomic
def authorization_record(
    *,
    offering: Offering,
    authorized_quantity: int,
    description: str,
    document: UploadedFile,
    authorized_on: dt.date,
    actor: User,
) -> IssuerAuthorization:
    """Set the units authorized for a token, from a written issuer authorization (17Ad-9 control book)."""
    if isinstance(authorized_quantity, bool) or not isinstance(authorized_quantity, int) or authorized_quantity < 0:
        raise ApplicationError("The authorized quantity must be a whole number, zero or more.", code="invalid_amount")
    if not description.strip():
        raise ApplicationError("Describe the authorization (e.g. the board resolution).", code="description_required")
    if not document:
        raise ApplicationError("Attach the signed authorization.", code="document_required")
    Offering.objects.select_for_update().only("pk").get(pk=offering.pk)
    before = authorized_quantity_of(offering=offering)
    digest = hashlib.sha256()
    for chunk in document.chunks():
        digest.update(chunk)
    document.seek(0)
    record = IssuerAuthorization.objects.create(
        offering=offering,
        authorized_quantity=authorized_quantity,
        description=description.strip(),
        document=document,
        document_sha256=digest.hexdigest(),
        authorized_on=authorized_on,
        recorded_by=actor,
    )
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
    return record


def authorized_quantity_of(*, offering: Offering) -> int | None:
    """The units the latest authorization allows (None: no authorization recorded yet)."""
    latest = IssuerAuthorization.objects.filter(offering=offering).order_by("-recorded_at", "-id").first()
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
    authorization = IssuerAuthorization.objects.filter(offering=offering).order_by("-recorded_at", "-id").first()
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
