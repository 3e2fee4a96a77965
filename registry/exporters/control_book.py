"""The control book (17Ad-9): units authorized by written issuer authorization and units issued, in order."""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from core.csv import Cell
from registry.exporters.base import Column, Exporter, ExportParams, day_text, moment_text
from registry.models import ControlBookEntry, ControlEntryKind, IssuerAuthorization

if TYPE_CHECKING:
    from offerings.models import Offering


def _recorded(model: Any, offering: Offering, params: ExportParams) -> Any:
    rows = model.objects.filter(offering=offering)
    if params.as_of_moment is not None:
        rows = rows.filter(recorded_at__lte=params.as_of_moment)
    return rows.order_by("recorded_at", "id")


def _in_effect(offering: Offering, params: ExportParams) -> Any:
    """Authorizations from the moment each took effect: a raise waiting for its second admin, or one not
    approved, never changed the authorized quantity."""
    rows = IssuerAuthorization.objects.filter(offering=offering, effective_at__isnull=False)
    if params.as_of_moment is not None:
        rows = rows.filter(effective_at__lte=params.as_of_moment)
    return rows.order_by("effective_at", "id")


class ControlBookExporter(Exporter):
    identifier = "control_book"
    verbose_name = "Control book"
    description = "Units authorized and issued, each change with its authorization or transaction."
    columns = (
        Column("recorded_at", "Recorded (UTC)", 1.1),
        Column("event", "Event", 0.7),
        Column("quantity", "Quantity", 0.7),
        Column("authorized", "Authorized after", 0.8),
        Column("issued", "Issued after", 0.8),
        Column("unissued", "Authorized, unissued", 0.8),
        Column("authorized_on", "Authorization date", 0.8),
        Column("authorization", "Authorization", 2.0),
        Column("document_sha256", "Authorization document SHA-256", 0),
        Column("transaction_hash", "Transaction", 2.2),
    )

    def row_count(self, offering: Offering, params: ExportParams) -> int:
        return _in_effect(offering, params).count() + _recorded(ControlBookEntry, offering, params).count()

    def rows(self, offering: Offering, params: ExportParams) -> Iterator[Sequence[Cell]]:
        authorizations = _in_effect(offering, params).iterator(chunk_size=self.chunk_size)
        entries = (
            _recorded(ControlBookEntry, offering, params)
            .select_related("authorization")
            .iterator(chunk_size=self.chunk_size)
        )
        merged = heapq.merge(
            ((a.effective_at, 0, a.pk, a) for a in authorizations),
            ((e.recorded_at, 1, e.pk, e) for e in entries),
        )
        authorized: int | None = None
        issued = 0
        for recorded_at, _, _, record in merged:
            if isinstance(record, IssuerAuthorization):
                authorized = record.authorized_quantity
                yield (
                    moment_text(recorded_at),
                    "Authorized",
                    record.authorized_quantity,
                    authorized,
                    issued,
                    authorized - issued,
                    day_text(record.authorized_on),
                    record.description,
                    record.document_sha256,
                    "",
                )
                continue
            issued += record.signed_quantity
            auth = record.authorization
            yield (
                moment_text(recorded_at),
                "Issued" if record.kind == ControlEntryKind.ISSUE else "Cancelled",
                record.quantity,
                authorized,
                issued,
                authorized - issued if authorized is not None else None,
                day_text(auth.authorized_on) if auth else "",
                auth.description if auth else "",
                auth.document_sha256 if auth else "",
                record.transaction_hash,
            )
